/**
 * The HTTP API's request and response schemas: one zod definition validates requests and generates
 * `/openapi.json`. Portable (zod only, no Node imports), so the web page can share it.
 */
import { z } from 'zod';
import { type SmoothingOptions, defaultSmoothingOptions } from '../smoothed-classifier.js';

/** Caps the server puts on what one request may ask for. */
export interface RequestLimits {
  maxN: number;
  maxN0: number;
}

/** Defaults of the API where they differ from the CLI's (n: the CLI's 100,000 is over most caps). */
export const apiDefaults = { n0: 100, n: 1000 } as const;

const positiveInt = () => z.int().positive();

/** The fields of the smoothing options; `limits` caps n and n0. */
function optionsShape(limits: RequestLimits) {
  const d = defaultSmoothingOptions;
  return {
    model: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe('model id from GET /v1/models (default: the first model the server loaded)'),
    method: z
      .enum(['rs', 'max', 'mean'])
      .default(d.method)
      .describe('rs: plain randomized smoothing; max: Smooth-Max; mean: Smooth-Mean'),
    sigma: z
      .number()
      .positive()
      .max(10)
      .optional()
      .describe("noise level in the model's pixel scale (default: the sigma the model was trained with)"),
    n0: positiveInt().max(limits.maxN0).default(apiDefaults.n0).describe('selection samples (certify)'),
    n: positiveInt()
      .max(limits.maxN)
      .default(apiDefaults.n)
      .describe('estimation samples (certify), or all samples (predict)'),
    alpha: z.number().gt(0).lt(1).default(d.alpha).describe('failure probability'),
    resize: positiveInt()
      .max(1024)
      .optional()
      .describe('Smooth-Reduce: resize the input to this square size first (default: input size + 4)'),
    resizeMode: z.enum(['bilinear', 'nearest']).default(d.resizeMode),
    stride: positiveInt().max(1024).default(d.stride).describe('Smooth-Reduce: patch stride'),
    maxPatches: positiveInt().max(1024).optional().describe('Smooth-Reduce: at most this many patches'),
    randomPatches: z.boolean().default(d.randomPatches).describe('Smooth-Reduce: random patch positions'),
    noise: z
      .enum(['correlated', 'uncorrelated', 'input'])
      .default(d.noise)
      .describe('Smooth-Reduce: where the noise is added'),
    aggregate: z.enum(['logits', 'softmax']).default(d.aggregate).describe('Smooth-Reduce: what is reduced'),
    seed: z.int().min(0).max(Number.MAX_SAFE_INTEGER).default(d.seed).describe('run seed'),
    index: z
      .int()
      .min(0)
      .max(Number.MAX_SAFE_INTEGER)
      .default(0)
      .describe("the input's index in its data set: selects its noise stream, as in the CLI's logs"),
    adaptiveRadius: z
      .number()
      .min(0)
      .max(100)
      .nullable()
      .default(null)
      .describe('adaptive certification at this input-space radius (certify only)'),
    looks: positiveInt()
      .max(20)
      .default(d.looks ?? 5)
      .describe('adaptive certification: looks'),
  };
}

const n0AtMostN = (o: { n0: number; n: number }) => o.n0 <= o.n;
const n0Message = { message: 'n0 must not exceed n', path: ['n0'] };

/** The options of a request whose body is the image itself (PNG/JPEG bytes): the query string. */
export function optionsSchema(limits: RequestLimits) {
  return z.strictObject(optionsShape(limits)).refine(n0AtMostN, n0Message);
}

/** The JSON form of a request: the options plus the image, as PNG/JPEG bytes (base64) or pixels. */
export function jsonRequestSchema(limits: RequestLimits) {
  return z
    .strictObject({
      ...optionsShape(limits),
      image: z.base64().optional().describe('PNG or JPEG bytes, base64; the size the model takes'),
      pixels: z
        .array(z.number())
        .optional()
        .describe("channel-planar C x H x W pixels in the model card's pixel range"),
    })
    .refine(n0AtMostN, n0Message)
    .refine((o) => (o.image === undefined) !== (o.pixels === undefined), {
      message: 'give the image either as "image" (base64 PNG/JPEG) or as "pixels", not both',
    });
}

export type RequestOptions = z.output<ReturnType<typeof optionsSchema>>;

/** The options of a request as the library takes them. */
export function smoothingOptions(o: RequestOptions, sigma: number, batch: number): SmoothingOptions {
  return {
    ...defaultSmoothingOptions,
    method: o.method,
    sigma,
    n0: o.n0,
    n: o.n,
    alpha: o.alpha,
    resize: o.resize === undefined ? undefined : { height: o.resize, width: o.resize },
    resizeMode: o.resizeMode,
    stride: o.stride,
    maxPatches: o.maxPatches,
    randomPatches: o.randomPatches,
    noise: o.noise,
    aggregate: o.aggregate,
    seed: o.seed,
    adaptiveRadius: o.adaptiveRadius,
    looks: o.looks,
    batch,
  };
}

/** Query-string values as JSON values: numbers and booleans parsed, the rest kept as text. */
export function fromQuery(query: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(query)) {
    if (typeof value !== 'string') out[key] = value;
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
  prediction: z.int().describe('class index, -1 when abstaining'),
  className: z.string().nullable().describe('class name from the model card (null when abstaining)'),
  method: z.enum(['rs', 'max', 'mean']),
  sigma: z.number(),
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
