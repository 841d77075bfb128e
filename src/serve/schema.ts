/**
 * The HTTP API's request and response schemas: one zod definition validates requests and generates
 * `/openapi.json`. Portable (zod only, no Node imports), so the web page can share it.
 */
import { z } from 'zod';
import { positiveInteger, rule, sigmaSchema } from '../core/params.js';
import { type SmoothingOptions, parseSmoothingOptions, smoothingOptionsSchema } from '../options.js';

/** Caps the server puts on what one request may ask for. */
export interface RequestLimits {
  maxN: number;
  maxN0: number;
}

/** Defaults of the API where they differ from the library's (n: its 100,000 is over most caps). */
export const apiDefaults = { n0: 100, n: 1000 } as const;

/**
 * The options of one request: the library's own option schema (src/options.ts) without `batch`
 * (the server's business), n and n0 capped, sigma defaulting to the model's training sigma, plus the
 * model and the input's index. The library's cross-option rules (n0 <= n, ...) are applied after,
 * by parseSmoothingOptions, so every rule has one definition.
 */
export function optionsSchema(limits: RequestLimits) {
  const cap = (max: number) => rule(`must be at most ${max} on this server`);
  return z
    .strictObject({
      model: z
        .string(rule('must be a model id'))
        .min(1, rule('must be a model id'))
        .max(200, rule('must be a model id'))
        .optional()
        .describe('model id from GET /v1/models (default: the first model the server loaded)'),
      denoiser: z
        .string(rule('must be a denoiser id'))
        .min(1, rule('must be a denoiser id'))
        .max(200, rule('must be a denoiser id'))
        .optional()
        .describe(
          'denoised smoothing: a denoiser id from GET /v1/models, run on every noisy sample before the model (default: none)',
        ),
      ...smoothingOptionsSchema.shape,
      sigma: sigmaSchema
        .optional()
        .describe(
          "noise level in the model's pixel scale (default: the sigma the denoiser, else the model, was trained with; 0.25 for a model trained without noise)",
        ),
      n0: positiveInteger().max(limits.maxN0, cap(limits.maxN0)).default(apiDefaults.n0),
      n: positiveInteger().max(limits.maxN, cap(limits.maxN)).default(apiDefaults.n),
      index: z
        .int(rule('must be a non-negative integer'))
        .min(0, rule('must be a non-negative integer'))
        .default(0)
        .describe("the input's index in its data set: selects its noise stream, as in the CLI's logs"),
    })
    .omit({ batch: true });
}

/** The JSON form of a request: the options plus the image, as PNG/JPEG bytes (base64) or pixels. */
export function jsonRequestSchema(limits: RequestLimits) {
  return optionsSchema(limits)
    .extend({
      image: z
        .base64(rule('must be base64'))
        .optional()
        .describe('PNG or JPEG bytes, base64; the size the model takes'),
      pixels: z
        .array(z.number(rule('must be numbers')), rule('must be an array of numbers'))
        .optional()
        .describe("channel-planar C x H x W pixels in the model card's pixel range"),
    })
    .refine((o) => (o.image === undefined) !== (o.pixels === undefined), {
      message: 'give the image either as {image} (base64 PNG/JPEG) or as {pixels}, not both',
    });
}

export type RequestOptions = z.output<ReturnType<typeof optionsSchema>>;

/** The options of a request as the library takes them, checked by the library's own rules. */
export function smoothingOptions(o: RequestOptions, sigma: number, batch: number): SmoothingOptions {
  const options: Record<string, unknown> = { ...o, sigma, batch };
  delete options.model;
  delete options.denoiser;
  delete options.index;
  return parseSmoothingOptions(options);
}

/** Query-string values as JSON values: numbers and booleans parsed, `resize=N` or `HxW` as a size. */
export function fromQuery(query: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(query)) {
    const size = key === 'resize' && typeof value === 'string' ? /^(\d+)(?:x(\d+))?$/.exec(value) : null;
    if (size) out[key] = { height: Number(size[1]), width: Number(size[2] ?? size[1]) };
    else if (typeof value !== 'string') out[key] = value;
    else if (value === 'true' || value === 'false') out[key] = value === 'true';
    else if (value === 'null') out[key] = null;
    else if (value.trim() !== '' && Number.isFinite(Number(value))) out[key] = Number(value);
    else out[key] = value;
  }
  return out;
}

const counts = z.array(z.int().min(0)).describe('votes per class');

const common = {
  model: z.object({ id: z.string(), sha256: z.string() }),
  denoiser: z
    .object({ id: z.string(), sha256: z.string() })
    .nullable()
    .describe('the denoiser run before the model (denoised smoothing), null without one'),
  prediction: z.int().describe('class index, -1 when abstaining'),
  className: z.string().nullable().describe('class name from the model card (null when abstaining)'),
  method: z.enum(['rs', 'max', 'mean']),
  sigma: z
    .number()
    .describe("the sigma smoothed at: the request's, else the model's training sigma, else 0.25"),
  warnings: z
    .array(z.string())
    .describe("e.g. a sigma other than the model's training sigma: certificates usually weaker"),
  alpha: z.number(),
  n: z.int(),
  seed: z.int(),
  index: z.int(),
  seconds: z.number().describe('time spent certifying, seconds'),
};

export const certifyResponseSchema = z.object({
  ...common,
  radius: z.number().describe('certified L2 radius in the INPUT space (0 when abstaining)'),
  radiusSpace: z.literal('input'),
  radiusSmoothing: z.number().describe('the same certificate in the smoothing space'),
  smoothingSpace: z.string().describe('where the noise is added'),
  noiseScale: z.number().describe('upper bound on the norm of the map from input to smoothing space'),
  pALower: z.number().describe('one-sided (1 - alpha) Clopper-Pearson lower bound on pA'),
  cA: z.int().describe('class selected on the n0 samples'),
  nA: z.int(),
  n0: z.int(),
  samples: z.int().describe('estimation samples drawn (fewer than n when adaptive stopped early)'),
  counts,
});

export const predictResponseSchema = z.object({
  ...common,
  pValue: z.number().describe('two-sided binomial test p-value'),
  counts,
});

export const errorSchema = z.object({
  error: z.string().describe('machine-readable kind, e.g. bad_request, unknown_model, queue_full'),
  message: z.string(),
});

export type CertifyResponse = z.output<typeof certifyResponseSchema>;
export type PredictResponse = z.output<typeof predictResponseSchema>;
