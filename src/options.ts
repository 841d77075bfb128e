/**
 * The options of a smoothed classifier: their type, defaults and rules, defined once as a zod
 * schema. The SmoothedClassifier constructor, the CLI and the HTTP service validate with
 * `parseSmoothingOptions`; the service publishes `smoothingOptionsSchema` as JSON Schema
 * (`z.toJSONSchema`). Errors name the options as here (`sigma must be > 0, got 0`); the CLI renames
 * them to its flags. No Node imports.
 */
import { z } from 'zod';
import { alphaSchema, parseOptions, positiveInteger, rule, sigmaSchema } from './core/params.js';
import type { ReduceOptions } from './reduce/reducer.js';

export interface SmoothingOptions extends ReduceOptions {
  /** noise level, in the smoothing space's pixel scale (the input's scale, e.g. [0, 1]) */
  sigma: number;
  n0: number;
  n: number;
  alpha: number;
  /**
   * noisy samples drawn per step; the model call size is measured per model and machine within
   * `callMemory` (see sampling/call-size.ts), so this changes neither certificates nor speed
   */
  batch: number;
  /** bytes one model call may use, the model's working memory included (default 256 MiB) */
  callMemory?: number;
  /** cap on model inputs per call (default 8192) */
  maxCallInputs?: number;
  /** run seed; input i draws its noise from stream i of this seed */
  seed: number;
  /**
   * Adaptive certification: stop sampling once the certificate at this INPUT-space radius is
   * decided (null: plain CERTIFY with all n samples). See certifyVotesAdaptive.
   */
  adaptiveRadius?: number | null;
  /** looks of adaptive certification (sample counts n / 2^(K-1), ..., n), each at alpha / looks */
  looks?: number;
  /**
   * Input-specific sample size: draw only as many of the n estimation samples as keep the
   * expected radius within this fraction of n's (null: all n). See certifyVotesInputSpecific.
   */
  sampleLoss?: number | null;
}

/** largest n0 and n: vote counts are 32-bit */
const MAX_SAMPLES = 2 ** 32 - 1;

const oneOf = <T extends string>(values: readonly [T, ...T[]]) =>
  z.enum(values, rule(`must be one of ${values.join(', ')}`));

/** Every option, with its default; unknown options are refused. */
export const smoothingOptionsSchema = z
  .strictObject({
    /** rs: plain randomized smoothing; max / mean: Smooth-Reduce over patches */
    method: oneOf(['rs', 'max', 'mean']).default('rs'),
    sigma: sigmaSchema.default(0.25),
    /** Smooth-Reduce: size of the resized image (default: the input size plus 4 on each axis) */
    resize: z
      .strictObject(
        { height: positiveInteger(), width: positiveInteger() },
        rule('must be { height, width }'),
      )
      .optional(),
    resizeMode: oneOf(['bilinear', 'nearest']).default('bilinear'),
    /**
     * Smooth-Reduce, translation variant (instead of resize): patches cut from the input zero-padded
     * by this many pixels on each side; the padded canvas is an isometric embedding (norm 1)
     */
    pad: z
      .int(rule('must be a whole number of pixels >= 0'))
      .min(0, rule('must be a whole number of pixels >= 0'))
      .max(1024, rule('must be a whole number of pixels in [0, 1024]'))
      .optional(),
    /** Smooth-Reduce: patch stride on the resized image (or the padded canvas) */
    stride: positiveInteger().default(2),
    /** Smooth-Reduce: at most this many patches (grid: evenly spread; random: how many) */
    maxPatches: positiveInteger().optional(),
    /** Smooth-Reduce: random patch positions (seeded per input); needs maxPatches */
    randomPatches: z.boolean(rule('must be true or false')).default(false),
    /** where the noise is added: the resized image, each patch, or the input */
    noise: oneOf(['correlated', 'uncorrelated', 'input']).default('correlated'),
    /** Smooth-Reduce: reduce over logits or softmax probabilities */
    aggregate: oneOf(['logits', 'softmax']).default('logits'),
    /** video: frames per window (a check: it must be the model's T) */
    window: positiveInteger().optional(),
    /** video: window stride in frames (default: the window length) */
    windowStride: positiveInteger().optional(),
    /** video: at most this many windows, evenly spread */
    maxWindows: positiveInteger().optional(),
    /** video, plain RS: start frame of the one window (default: the centred one) */
    windowOffset: z
      .int(rule('must be a start frame >= 0'))
      .min(0, rule('must be a start frame >= 0'))
      .optional(),
    // vote counts are 32-bit
    n0: positiveInteger()
      .max(MAX_SAMPLES, rule(`must be an integer in [1, ${MAX_SAMPLES}]`))
      .default(100),
    n: positiveInteger()
      .max(MAX_SAMPLES, rule(`must be an integer in [1, ${MAX_SAMPLES}]`))
      .default(100_000),
    alpha: alphaSchema.default(0.001),
    // noisy samples per step; the model call size is bounded by callMemory, not by this
    batch: positiveInteger()
      .max(2 ** 28, rule(`must be an integer in [1, ${2 ** 28}]`))
      .default(400),
    /** bytes one model call may use (default: 256 MiB, sampling/sampler.ts) */
    callMemory: z
      .number(rule('must be at least 1 MiB (1048576 bytes)'))
      .min(2 ** 20, rule('must be at least 1 MiB (1048576 bytes)'))
      .max(2 ** 50, rule('must be at most 2^50 bytes'))
      .optional(),
    /** cap on model inputs per call (default 8192) */
    maxCallInputs: positiveInteger().optional(),
    seed: z
      .int(rule('must be a non-negative integer'))
      .min(0, rule('must be a non-negative integer'))
      .default(0),
    /** adaptive certification at this input-space radius; null: plain CERTIFY */
    adaptiveRadius: z
      .number(rule('must be a radius >= 0'))
      .min(0, rule('must be a radius >= 0'))
      .nullable()
      .default(null),
    looks: z
      .int(rule('must be an integer in [1, 20]'))
      .min(1, rule('must be an integer in [1, 20]'))
      .max(20, rule('must be an integer in [1, 20]'))
      .default(5),
    /** input-specific sample size: tolerated relative radius loss; null: all n samples */
    sampleLoss: z
      .number(rule('must be a fraction in [0, 1)'))
      .min(0, rule('must be a fraction in [0, 1)'))
      .lt(1, rule('must be a fraction in [0, 1)'))
      .nullable()
      .default(null),
  })
  .superRefine((o, ctx) => {
    // only between valid counts: a bad n is reported on its own
    if (Number.isInteger(o.n) && o.n >= 1 && o.n0 > o.n) {
      ctx.addIssue({
        code: 'custom',
        path: ['n0'],
        message: `{n0} (${o.n0}) must not exceed {n} (${o.n}): n0 only selects the class, n certifies it`,
      });
    }
    if (o.sampleLoss !== null && o.adaptiveRadius !== null) {
      ctx.addIssue({
        code: 'custom',
        path: ['sampleLoss'],
        message: '{sampleLoss} and {adaptiveRadius} are alternatives: choose one',
      });
    }
    if (o.pad !== undefined && o.resize !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['pad'],
        message: '{pad} and {resize} are alternatives (translations or a zoom): choose one',
      });
    }
    if (o.randomPatches && o.maxPatches === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['randomPatches'],
        message: '{randomPatches} needs {maxPatches} (how many random patches)',
      });
    }
  });

/** Options as given (any subset; the rest take their defaults), e.g. an HTTP request's. */
export type SmoothingOptionsInput = z.input<typeof smoothingOptionsSchema>;

/** The options checked against the rules, defaults filled in; an OptionsError otherwise. */
export function parseSmoothingOptions(options: unknown): SmoothingOptions {
  return parseOptions(smoothingOptionsSchema, options);
}

export const defaultSmoothingOptions: SmoothingOptions = parseSmoothingOptions({});

/** Throws an OptionsError when `options` break a rule (parseSmoothingOptions also fills in defaults). */
export function validateSmoothingOptions(options: SmoothingOptions): void {
  parseSmoothingOptions(options);
}
