/**
 * The smoothed classifier g of a base classifier f (Cohen et al. 2019), optionally through
 * Smooth-Reduce's patches (Joshi et al. 2022): the library's main entry point.
 *
 *   const g = new SmoothedClassifier(f, dataShape, { ...defaultSmoothingOptions, method: 'mean', sigma: 0.25 });
 *   const { prediction, radius } = await g.certify(input);   // radius: L2, input space
 *
 * Radii are reported in the input space: the core certifies in the smoothing space and the
 * Reducer's noiseScale (an upper bound on ||M||_2) converts, in this one place.
 */
import { UsageError } from './core/errors.js';
import { GaussianRng, type NoiseGrid, noiseGrid, samplerDeviation } from './core/rng.js';
import { FLOAT_MARGIN } from './core/stats.js';
import { OptionsError } from './core/params.js';
import type { Shape3 } from './core/shape.js';
import {
  ABSTAIN,
  type Certificate,
  type VoteSource,
  certifyVotes,
  certifyVotesAdaptive,
  certifyVotesEach,
  certifyVotesInputSpecific,
  predictVotes,
} from './core/smooth.js';
import type { Classifier } from './models/classifier.js';
import { DenoisedClassifier, type Denoising } from './models/denoiser.js';
import { type SmoothingOptions, defaultSmoothingOptions, parseSmoothingOptions } from './options.js';
import { type CompanionOverrides, companionAggregates } from './reduce/companions.js';
import { type Plan, type Reducer, createReducer } from './reduce/reducer.js';
import { Sampler } from './sampling/sampler.js';

// defined in ./options.ts; also here, beside the classifier that takes them
export { type SmoothingOptions, defaultSmoothingOptions } from './options.js';

/** sigma may be at most this many pixel ranges (noise beyond it leaves nothing of the input) */
const MAX_SIGMA_PER_RANGE = 4;

export interface InputToSmooth {
  pixels: Float32Array;
  /** the input's index in its data set: selects its noise stream (default 0) */
  index?: number;
}

export interface CertifyResult {
  /** class, or -1 (ABSTAIN) */
  prediction: number;
  /** certified L2 radius in the INPUT space (0 on abstain) */
  radius: number;
  /** the same certificate in the smoothing space (radius * noiseScale) */
  radiusSmoothing: number;
  pALower: number;
  cA: number;
  nA: number;
  counts: Uint32Array;
  /** estimation samples drawn (n unless adaptive certification stopped early) */
  samples: number;
  /** upper bound on ||M||_2, the map from input to smoothing space */
  noiseScale: number;
  /** upper bound on ||center - M x||_2 (smoothing space), subtracted from the radius */
  centerError: number;
  /** probability subtracted from pA's lower bound for the sampler's deviation from exact Gaussian noise */
  deduction: number;
}

/**
 * The grid noisy values are snapped to, the per-coordinate total-variation bound of the sampler
 * (charged, times the smoothing-space dimension, to pA's lower bound, for centres inside the pixel
 * range) and the relative margin of computed bounds: README, Radius space.
 */
export interface FloatingPointRecord {
  noiseGrid: number;
  samplerDeviationPerCoordinate: number;
  smoothingDimension: number;
  floatMargin: number;
  written: string;
}

/** Where a certification stands, reported after every chunk of samples (see RunHooks). */
export interface SamplingProgress {
  /** 'selection': the n0 samples that pick the class; 'estimation': the samples that certify it */
  phase: 'selection' | 'estimation';
  /** samples drawn so far in this phase */
  drawn: number;
  /** samples this phase will draw at most (n0, or n) */
  total: number;
  /** votes per class so far in this phase (a live view: copy it to keep it) */
  counts: Uint32Array;
}

/**
 * Optional hooks of one certify / predict call. They change nothing in the result: a chunked run
 * draws the same noise in the same order (noise is drawn per sample), so counts are identical.
 */
export interface RunHooks {
  /** stops sampling at the next chunk; the call then rejects with the signal's reason */
  signal?: AbortSignal;
  /** called after every chunk of samples */
  onProgress?: (progress: SamplingProgress) => void;
  /** samples per chunk (default: the batch size) */
  chunk?: number;
}

export interface PredictResult {
  prediction: number;
  pValue: number;
  counts: Uint32Array;
}

export class SmoothedClassifier {
  readonly reducer: Reducer;
  /** the grid noisy values are snapped to (fixed per run: from the pixel range and sigma) */
  readonly grid: NoiseGrid;
  private readonly sampler: Sampler;
  /** the options as checked, defaults filled in */
  readonly options: SmoothingOptions;
  /** the options of each companion (see certifyEach), checked, the rest taken from `options` */
  readonly companions: SmoothingOptions[];
  /** patches each companion reduces */
  readonly companionCopies: number[];
  /**
   * denoised smoothing (a DenoisedClassifier given): where the denoiser runs, once per noisy sample
   * in the smoothing space when it takes that image, else on each model input; null without one
   */
  readonly denoising: Denoising | null;

  /**
   * `options` are checked by parseSmoothingOptions: bad ones throw an OptionsError (a UsageError).
   * `companions` are other reductions of the same patch outputs (Smooth-Max beside Smooth-Mean,
   * softmax, a subset of the patches), certified on the same samples by certifyEach.
   */
  constructor(
    readonly classifier: Classifier,
    inputShape: Shape3,
    options: SmoothingOptions,
    companions: readonly CompanionOverrides[] = [],
  ) {
    this.options = parseSmoothingOptions(options);
    const o = this.options;
    this.companions = companions.map((c) => parseSmoothingOptions({ ...o, ...c }));
    if (this.companions.length > 0 && (o.adaptiveRadius !== null || o.sampleLoss !== null))
      throw new UsageError(
        'companion runs (--also) certify with all n samples: drop --adaptive-radius / --sample-loss',
      );
    const [lo, hi] = classifier.pixelRange ?? [0, 1];
    if (o.sigma > MAX_SIGMA_PER_RANGE * (hi - lo)) {
      throw new OptionsError([
        {
          key: 'sigma',
          text: `must be at most ${MAX_SIGMA_PER_RANGE * (hi - lo)}, ${MAX_SIGMA_PER_RANGE} times the model's pixel range [${lo}, ${hi}] (noise that large drowns every input)`,
          value: o.sigma,
        },
      ]);
    }
    this.reducer = createReducer(o, inputShape, classifier, o.seed);
    this.grid = noiseGrid([lo, hi], o.sigma);
    const aggregates = companionAggregates(this.reducer, this.companions, inputShape, classifier.inputShape);
    this.companionCopies = aggregates.map((a) => a.patches?.length ?? this.reducer.geometry.copies);
    const denoised = classifier instanceof DenoisedClassifier ? classifier : null;
    this.denoising = denoised?.denoisingFor(this.reducer.geometry.smoothingShape) ?? null;
    this.sampler = new Sampler(denoised?.base ?? classifier, {
      denoise: denoised && this.denoising ? { ...this.denoising, denoiser: denoised.denoiser } : undefined,
      grid: this.grid,
      batch: o.batch,
      callMemory: o.callMemory,
      maxCallInputs: o.maxCallInputs,
      reduction: o.method === 'rs' ? 'max' : o.method,
      aggregate: o.aggregate,
      companions: aggregates,
    });
    // a --call-memory too small for one model input is refused here, before any sampling
    this.sampler.sizerFor(this.reducer.geometry.copies);
  }

  /**
   * CERTIFY (Cohen et al., Pseudocode): class and input-space L2 radius, or abstain; with
   * `adaptiveRadius`, the sequential variant that stops once that radius is decided.
   */
  async certify(input: InputToSmooth, hooks: RunHooks = {}): Promise<CertifyResult> {
    const { plan, votes } = this.voteSource(input, hooks, true);
    const { adaptiveRadius = null, looks = 5, sampleLoss = null } = this.options;
    const deduction = this.deduction(plan.center);
    const params = { ...this.options, deduction };
    // certified at input-space radius r  <=>  smoothing-space radius >= r * noiseScale + centerError
    const c =
      adaptiveRadius !== null
        ? await certifyVotesAdaptive(votes, {
            ...params,
            radius: adaptiveRadius * plan.noiseScale + plan.centerError,
            looks,
          })
        : sampleLoss !== null
          ? await certifyVotesInputSpecific(votes, { ...params, loss: sampleLoss })
          : await certifyVotes(votes, params);
    return inputSpace(c, plan, deduction);
  }

  /**
   * CERTIFY of this configuration and of each companion on the same noisy samples, in that order:
   * each certificate is the one `certify` of that configuration alone gives (same noise stream,
   * same model outputs), at the cost of one run's model calls.
   */
  async certifyEach(input: InputToSmooth): Promise<CertifyResult[]> {
    const { plan, rng } = this.prepare(input);
    const deduction = this.deduction(plan.center);
    const votes = this.sampler.votesEach(plan, this.options.sigma, rng);
    const certificates = await certifyVotesEach(votes, { ...this.options, deduction });
    return certificates.map((c) => inputSpace(c, plan, deduction));
  }

  /** What keeps this classifier's certificates sound in floating point, for run manifests. */
  floatingPoint(): FloatingPointRecord {
    const [lo, hi] = this.classifier.pixelRange ?? [0, 1];
    return {
      noiseGrid: this.grid.step,
      samplerDeviationPerCoordinate: samplerDeviation(
        this.options.sigma,
        this.grid,
        Math.max(Math.abs(lo), Math.abs(hi)),
      ),
      smoothingDimension: this.reducer.geometry.smoothingShape.reduce((a, b) => a * b, 1),
      floatMargin: FLOAT_MARGIN,
      written: 'radius, pA_lower and radius_smoothing rounded toward zero to 6 significant digits',
    };
  }

  /**
   * Pixels outside the model's range (or NaN) would be clamped by the noise grid or poison every
   * vote: a data set in another scale than the card's is refused rather than certified as garbage.
   */
  private checkRange(pixels: Float32Array, index: number): void {
    const range = this.classifier.pixelRange;
    const [lo, hi] = range ?? [-Infinity, Infinity];
    const slack = range ? 1e-6 * (hi - lo) : 0;
    for (let i = 0; i < pixels.length; i++) {
      const p = pixels[i];
      if (!(p >= lo - slack && p <= hi + slack && Number.isFinite(p))) {
        throw new UsageError(
          range
            ? `input ${index}: pixel value ${p} is outside the model's pixel range [${lo}, ${hi}] (the model card's input.pixelRange; noise is added in that scale)`
            : `input ${index}: pixel value ${p} is not a finite number`,
        );
      }
    }
  }

  /**
   * The probability charged for the sampler on one input (d coordinates, each within
   * samplerDeviation of exact Gaussian noise after the grid, for values as large as the centre's):
   * subtracted from pA by CERTIFY, charged to the test by PREDICT.
   */
  deduction(center: Float32Array): number {
    let maxAbs = 0;
    for (let i = 0; i < center.length; i++) maxAbs = Math.max(maxAbs, Math.abs(center[i]));
    const [lo, hi] = this.classifier.pixelRange ?? [0, 1];
    const bound = Math.max(maxAbs, Math.abs(lo), Math.abs(hi));
    return center.length * samplerDeviation(this.options.sigma, this.grid, bound);
  }

  /**
   * Model inputs per call: measured on the first calls (see sampling/call-size.ts), fixed once
   * `settled`; `bytesPerInput` is the memory per model input the budget is applied with.
   */
  get callSize(): { inputs: number; settled: boolean; bytesPerInput: number } {
    const copies = this.reducer.geometry.copies;
    const sizer = this.sampler.sizerFor(copies);
    return {
      inputs: sizer.samples * copies,
      settled: sizer.isSettled,
      bytesPerInput: sizer.measuredBytesPerInput,
    };
  }

  /** PREDICT (Cohen et al., Pseudocode): the smoothed class, or abstain when the test is not significant. */
  async predict(input: InputToSmooth, hooks: RunHooks = {}): Promise<PredictResult> {
    const { plan, votes } = this.voteSource(input, hooks, false);
    return predictVotes(votes, { ...this.options, deduction: this.deduction(plan.center) });
  }

  /** One input's plan and its votes: noise stream `index` of the run seed, seen through the hooks. */
  private voteSource(input: InputToSmooth, hooks: RunHooks, certifying: boolean) {
    const { plan, rng } = this.prepare(input);
    return {
      plan,
      votes: this.observe(this.sampler.votes(plan, this.options.sigma, rng), hooks, certifying),
    };
  }

  /** One input's plan and its noise: stream `index` of the run seed. */
  private prepare(input: InputToSmooth) {
    const index = input.index ?? 0;
    this.checkRange(input.pixels, index);
    return {
      plan: this.reducer.prepare(input.pixels, index),
      rng: new GaussianRng(this.options.seed, index),
    };
  }

  /**
   * The vote source seen through the hooks: each request is drawn in chunks, with a progress report
   * and a cancellation check after each. The first request of CERTIFY is the selection; the others
   * (one, or one per look of adaptive certification) add up to the estimation.
   */
  private observe(votes: VoteSource, hooks: RunHooks, selectionFirst: boolean): VoteSource {
    const { signal, onProgress } = hooks;
    if (!signal && !onProgress) return votes;
    const chunk = hooks.chunk ?? this.options.batch;
    let call = 0;
    let estimation: Uint32Array | null = null;
    let estimated = 0;
    return async (num) => {
      const selection = selectionFirst && call++ === 0;
      const counts = new Uint32Array(this.classifier.numClasses);
      const phaseCounts = selection ? counts : (estimation ??= new Uint32Array(counts.length));
      const total = selection ? this.options.n0 : this.options.n;
      let drawn = 0;
      while (drawn < num) {
        signal?.throwIfAborted();
        const size = Math.min(chunk, num - drawn);
        const part = await votes(size);
        for (let c = 0; c < counts.length; c++) counts[c] += part[c];
        if (!selection) for (let c = 0; c < counts.length; c++) phaseCounts[c] += part[c];
        drawn += size;
        if (!selection) estimated += size;
        onProgress?.({
          phase: selection ? 'selection' : 'estimation',
          drawn: selection ? drawn : estimated,
          total,
          counts: phaseCounts,
        });
      }
      signal?.throwIfAborted();
      return counts;
    };
  }
}

/**
 * A smoothing-space certificate in the input space: the certificate is about the float32 centre, so
 * reaching M x costs centerError of its radius, and the rest is divided by ||M||_2's bound.
 */
function inputSpace(c: Certificate, plan: Plan, deduction: number): CertifyResult {
  const reach = c.radius - plan.centerError;
  const certified = c.prediction !== ABSTAIN && reach > 0;
  return {
    ...c,
    prediction: certified ? c.prediction : ABSTAIN,
    radius: certified ? (reach / plan.noiseScale) * (1 - FLOAT_MARGIN) : 0,
    radiusSmoothing: certified ? c.radius : 0,
    noiseScale: plan.noiseScale,
    centerError: plan.centerError,
    deduction,
  };
}

/** A single input with the shape of its data (default: the classifier's input shape). */
export type OneInput = InputToSmooth & { shape?: Shape3 };

/** One-shot CERTIFY of a single input (builds the reducer each call; use SmoothedClassifier for many). */
export const certify = (
  classifier: Classifier,
  input: OneInput,
  options: Partial<SmoothingOptions> = {},
): Promise<CertifyResult> => oneShot(classifier, input, options).certify(input);

/** One-shot PREDICT of a single input (builds the reducer each call; use SmoothedClassifier for many). */
export const predict = (
  classifier: Classifier,
  input: OneInput,
  options: Partial<SmoothingOptions> = {},
): Promise<PredictResult> => oneShot(classifier, input, options).predict(input);

function oneShot(
  classifier: Classifier,
  input: { shape?: Shape3 },
  options: Partial<SmoothingOptions>,
): SmoothedClassifier {
  const shape = input.shape ?? classifier.inputShape;
  return new SmoothedClassifier(classifier, shape, { ...defaultSmoothingOptions, ...options });
}
