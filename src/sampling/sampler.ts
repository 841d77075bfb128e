/**
 * The hot path: noisy samples -> model calls -> one vote per sample -> class counts.
 *
 * The seeded noise source writes `center + sigma * e` for each sample (in the smoothing space),
 * up to `batch` samples per step; the plan's gather map turns each into its k model inputs in the
 * current call buffer. A call holds whole samples, as many as the CallSizer chose for this model
 * and machine (call-size.ts), independent of `batch`, which only sets how many samples' noise is
 * drawn before they are gathered (at most a call's). The aggregator reduces every k output rows to
 * a vote. Two call buffers alternate so that a classifier that scores asynchronously
 * (onnxruntime-web in a worker, a remote model) works on one call while the next is drawn;
 * onnxruntime-node computes inside the call on the calling thread, so there drawing and scoring
 * take turns (docs/performance.md measures the cost). Buffers grow with the call size and are
 * reused across calls and inputs: nothing is allocated per sample.
 *
 * Votes depend only on the noise, drawn per sample in order, never on how samples are grouped into
 * steps or calls, so `batch` and the call size change no certificate (given a classifier whose
 * outputs do not depend on the call size; ONNX Runtime's CPU kernels are tested for it).
 *
 * A denoiser (denoised smoothing, ../models/denoiser.ts) runs after the noise: on each noisy sample
 * before the gather when the smoothing space is an image it takes, else on each model input. Both
 * are part of the base classifier that is smoothed; the noise drawn is the same either way.
 *
 * Companion aggregators reduce the same model outputs differently (max and mean, softmax, a subset
 * of the patches): each counts its own votes on the same samples, so one pass over the model gives
 * the counts that separate runs of those configurations would give.
 */
import type { VoteSource, VoteSources } from '../core/smooth.js';
import { UsageError } from '../core/errors.js';
import type { GaussianRng, NoiseGrid } from '../core/rng.js';
import { shapeSize } from '../core/shape.js';
import type { Classifier } from '../models/classifier.js';
import type { Denoiser, Denoising } from '../models/denoiser.js';
import { type AggregateOver, Aggregator, type Reduction } from '../reduce/aggregate.js';
import type { Plan } from '../reduce/reducer.js';
import { CallSizer } from './call-size.js';

/** Default memory budget of one model call: 256 MiB. */
export const DEFAULT_CALL_MEMORY = 256 * 2 ** 20;
/** Default cap on model inputs per call. */
export const DEFAULT_MAX_CALL_INPUTS = 8192;

export interface SamplerOptions {
  /** noisy samples drawn per step (does not set the model call size) */
  batch: number;
  reduction: Reduction;
  aggregate: AggregateOver;
  /** the grid noisy values are snapped to (see ../core/rng.ts) */
  grid: NoiseGrid;
  /** bytes one model call may use, the classifier's working memory included (DEFAULT_CALL_MEMORY) */
  callMemory?: number;
  /** cap on model inputs per call (DEFAULT_MAX_CALL_INPUTS) */
  maxCallInputs?: number;
  /** more reductions of the same outputs, each counting its own votes (see votesEach) */
  companions?: readonly CompanionAggregate[];
  /** denoised smoothing: the denoiser run after the noise, and where (per sample or per model input) */
  denoise?: Denoising & { denoiser: Denoiser };
}

/** A reduction of some of a sample's k outputs: `patches` are their indices (all k when absent). */
export interface CompanionAggregate {
  reduction: Reduction;
  aggregate: AggregateOver;
  patches?: readonly number[];
}

/**
 * Call sizers are shared by every sampler of a classifier with the same geometry and limits, so a
 * size measured once (a warm-up, the first input) serves later samplers on the same model.
 */
const sizers = new WeakMap<Classifier, Map<string, CallSizer>>();
/** a number per denoiser, for the sizer key (a denoiser changes the cost and memory of a call) */
const denoiserIds = new WeakMap<Denoiser, number>();
let denoisersSeen = 0;

export class Sampler {
  private readonly aggregators: Aggregator[];
  private readonly modelSize: number;
  private readonly callMemory: number;
  private readonly maxCallInputs: number;
  private callBuffers: [Float32Array, Float32Array] = [new Float32Array(0), new Float32Array(0)];
  private noiseBuffer = new Float32Array(0);
  /** denoising per sample: the noisy samples of the two calls in flight, before the denoiser */
  private sampleBuffers: [Float32Array, Float32Array] = [new Float32Array(0), new Float32Array(0)];

  constructor(
    private readonly classifier: Classifier,
    private readonly options: SamplerOptions,
  ) {
    // validated where options enter (src/options.ts)
    this.callMemory = options.callMemory ?? DEFAULT_CALL_MEMORY;
    this.maxCallInputs = options.maxCallInputs ?? DEFAULT_MAX_CALL_INPUTS;
    const own: CompanionAggregate = { reduction: options.reduction, aggregate: options.aggregate };
    this.aggregators = [own, ...(options.companions ?? [])].map(
      (a) => new Aggregator(classifier.numClasses, a.reduction, a.aggregate, a.patches),
    );
    this.modelSize = shapeSize(classifier.inputShape);
  }

  /** The vote source for one input: a fresh draw from `rng` for every sample. */
  votes(plan: Plan, sigma: number, rng: GaussianRng): VoteSource {
    const each = this.votesEach(plan, sigma, rng);
    return async (num) => (await each(num))[0];
  }

  /** The votes of this sampler's aggregator, then of each companion, on the same fresh samples. */
  votesEach(plan: Plan, sigma: number, rng: GaussianRng): VoteSources {
    const sizer = this.sizerFor(plan.copies);
    return (num) => this.count(plan, sigma, rng, num, sizer);
  }

  /** The call sizer this sampler uses for plans with `copies` model inputs per sample. */
  sizerFor(copies: number): CallSizer {
    let byKey = sizers.get(this.classifier);
    if (!byKey) sizers.set(this.classifier, (byKey = new Map()));
    const denoise = this.options.denoise;
    if (denoise && !denoiserIds.has(denoise.denoiser)) denoiserIds.set(denoise.denoiser, ++denoisersSeen);
    const via = denoise ? `/${denoise.on}:${denoiserIds.get(denoise.denoiser)}` : '';
    const key = `${copies}/${this.callMemory}/${this.maxCallInputs}${via}`;
    let sizer = byKey.get(key);
    if (!sizer) {
      const outputBytes = 4 * this.classifier.numClasses;
      // a denoiser's input and output: per sample (shared by its copies) or per model input
      const denoiseBytes = !denoise
        ? 0
        : denoise.on === 'sample'
          ? (2 * 2 * 4 * shapeSize(denoise.shape)) / copies
          : 2 * 4 * this.modelSize;
      sizer = new CallSizer({
        copies,
        memoryBudget: this.callMemory,
        maxInputs: this.maxCallInputs,
        // two call buffers and the output, per model input (and the denoiser's buffers)
        ownBytesPerInput: 2 * 4 * this.modelSize + outputBytes + denoiseBytes,
        memoryInUse: this.classifier.memoryInUse?.bind(this.classifier),
      });
      byKey.set(key, sizer);
    }
    return sizer;
  }

  private buffer(which: number, length: number): Float32Array {
    if (this.callBuffers[which].length < length) this.callBuffers[which] = new Float32Array(length);
    return this.callBuffers[which];
  }

  private async count(
    plan: Plan,
    sigma: number,
    rng: GaussianRng,
    num: number,
    sizer: CallSizer,
  ): Promise<Uint32Array[]> {
    const counts = this.aggregators.map(() => new Uint32Array(this.classifier.numClasses));
    let remaining = num;
    sizer.start();
    // a sample too large for one call: its model inputs in parts, reduced as they come
    for (; remaining > 0 && sizer.inputsPerCall !== null; remaining--)
      await this.sampleInParts(plan, sigma, rng, sizer, counts);
    let which = 0;
    let inflight: { result: Promise<Float32Array>; size: number; start: number } | null = null;
    while (remaining > 0 || inflight) {
      let prepared: { call: () => Promise<Float32Array>; size: number } | null = null;
      if (remaining > 0) {
        const size = Math.min(sizer.samples, remaining);
        remaining -= size;
        prepared = { call: this.prepareCall(plan, sigma, rng, which, size), size };
        which ^= 1;
      }
      if (inflight) {
        const outputs = await inflight.result;
        sizer.record(inflight.size, (now() - inflight.start) / 1000);
        this.tally(outputs, inflight.size, plan.copies, counts);
      }
      inflight = prepared ? { start: now(), result: prepared.call(), size: prepared.size } : null;
    }
    return counts;
  }

  /**
   * Draws the noise of `size` samples now (noise is drawn in sample order) and returns the model
   * call that scores them: the classifier on the gathered inputs, after the denoiser when there is one.
   */
  private prepareCall(
    plan: Plan,
    sigma: number,
    rng: GaussianRng,
    which: number,
    size: number,
  ): () => Promise<Float32Array> {
    const inputs = size * plan.copies;
    const buffer = this.buffer(which, inputs * this.modelSize);
    const denoise = this.options.denoise;
    if (denoise?.on === 'sample') {
      const dim = plan.center.length;
      if (this.sampleBuffers[which].length < size * dim)
        this.sampleBuffers[which] = new Float32Array(size * dim);
      const samples = this.sampleBuffers[which];
      rng.fillNoisy(samples, 0, plan.center, sigma, this.options.grid, size);
      return async () => {
        const clean = await denoise.denoiser.run(samples, size, denoise.shape);
        if (plan.gather.isIdentity) return this.classifier.run(clean, inputs);
        const stride = plan.copies * this.modelSize;
        for (let s = 0; s < size; s++) plan.gather.apply(clean, s * dim, buffer, s * stride);
        return this.classifier.run(buffer, inputs);
      };
    }
    this.draw(plan, sigma, rng, buffer, size);
    if (denoise)
      return async () =>
        this.classifier.run(await denoise.denoiser.run(buffer, inputs, denoise.shape), inputs);
    return () => this.classifier.run(buffer, inputs);
  }

  /**
   * One noisy sample whose `plan.copies` model inputs are split over several calls of at most
   * `sizer.inputsPerCall` inputs: drawn once, gathered part by part, and reduced as the outputs
   * come (the same vote as one call of all of them).
   */
  private async sampleInParts(
    plan: Plan,
    sigma: number,
    rng: GaussianRng,
    sizer: CallSizer,
    counts: Uint32Array[],
  ): Promise<void> {
    const dim = plan.center.length;
    const k = plan.copies;
    const m = this.modelSize;
    if (this.noiseBuffer.length < dim) this.noiseBuffer = new Float32Array(dim);
    const noise = this.noiseBuffer;
    rng.fillNoisy(noise, 0, plan.center, sigma, this.options.grid, 1);
    const denoise = this.options.denoise;
    const sample = denoise?.on === 'sample' ? await denoise.denoiser.run(noise, 1, denoise.shape) : noise;
    for (const a of this.aggregators) a.begin();
    for (let first = 0; first < k;) {
      const size = Math.min(sizer.inputsPerCall ?? k, k - first);
      const buffer = this.buffer(0, size * m);
      plan.gather.apply(sample, 0, buffer, 0, first * m, (first + size) * m);
      const inputs =
        denoise?.on === 'model-input' ? await denoise.denoiser.run(buffer, size, denoise.shape) : buffer;
      const outputs = await this.classifier.run(inputs, size);
      sizer.recordPart(size);
      this.checkFinite(outputs, size);
      for (const a of this.aggregators) a.add(outputs, 0, first, size);
      first += size;
    }
    for (const [a, aggregator] of this.aggregators.entries()) counts[a][aggregator.end()]++;
  }

  /**
   * Writes `size` noisy samples, gathered into model inputs, to `out`: the noise of up to `batch`
   * samples per step, then their gather. RS (identity gather) draws
   * straight into `out`.
   */
  private draw(plan: Plan, sigma: number, rng: GaussianRng, out: Float32Array, size: number): void {
    const dim = plan.center.length;
    const stride = plan.copies * this.modelSize;
    if (plan.gather.isIdentity) {
      rng.fillNoisy(out, 0, plan.center, sigma, this.options.grid, size, stride);
      return;
    }
    const perStep = Math.min(this.options.batch, size);
    if (this.noiseBuffer.length < perStep * dim) this.noiseBuffer = new Float32Array(perStep * dim);
    const noise = this.noiseBuffer;
    for (let first = 0; first < size; first += perStep) {
      const step = Math.min(perStep, size - first);
      rng.fillNoisy(noise, 0, plan.center, sigma, this.options.grid, step);
      for (let s = 0; s < step; s++) plan.gather.apply(noise, s * dim, out, (first + s) * stride);
    }
  }

  private tally(outputs: Float32Array, size: number, copies: number, counts: Uint32Array[]): void {
    this.checkFinite(outputs, size * copies);
    for (const [a, aggregator] of this.aggregators.entries()) {
      const tally = counts[a];
      for (let s = 0; s < size; s++) tally[aggregator.vote(outputs, s * copies, copies)]++;
    }
  }

  private checkFinite(outputs: Float32Array, inputs: number): void {
    // A NaN or infinite score would vote for class 0 (or at random): refuse the model instead.
    const values = inputs * this.classifier.numClasses;
    for (let i = 0; i < values; i++) {
      const v = outputs[i];
      if (v - v !== 0) {
        throw new UsageError(
          `the model returned a non-finite score (${v}) on a noisy sample; votes from it would be meaningless (check the model, e.g. a sqrt or log of a possibly negative value)`,
        );
      }
    }
  }
}

function now(): number {
  return globalThis.performance.now();
}
