/**
 * The hot path: noisy samples -> model batches -> one vote per sample -> class counts.
 *
 * Per batch: the seeded noise source writes `center + sigma * e` for each sample (in the smoothing
 * space), the plan's gather map turns each into its k model inputs, the classifier scores them all
 * in one call, and the aggregator reduces every k rows to a vote. Two batch buffers alternate so
 * that a classifier that scores asynchronously (onnxruntime-web in a worker, a remote model) works
 * on one batch while the next is drawn; onnxruntime-node computes inside the call on the calling
 * thread, so there drawing and scoring take turns (docs/performance.md measures the cost). Buffers
 * are allocated once and reused across inputs: nothing is allocated per sample.
 */
import type { VoteSource } from '../core/smooth.js';
import { UsageError } from '../core/errors.js';
import type { GaussianRng, NoiseGrid } from '../core/rng.js';
import { shapeSize } from '../core/shape.js';
import type { Classifier } from '../models/classifier.js';
import { type AggregateOver, Aggregator, type Reduction } from '../reduce/aggregate.js';
import type { Plan } from '../reduce/reducer.js';

export interface SamplerOptions {
  /** noisy samples per model call (each brings `copies` model inputs) */
  batch: number;
  reduction: Reduction;
  aggregate: AggregateOver;
  /** the grid noisy values are snapped to (see ../core/rng.ts) */
  grid: NoiseGrid;
}

export class Sampler {
  private readonly aggregator: Aggregator;
  private readonly modelSize: number;
  private modelBuffers: [Float32Array, Float32Array] = [new Float32Array(0), new Float32Array(0)];
  private noiseBuffer = new Float32Array(0);

  constructor(
    private readonly classifier: Classifier,
    private readonly options: SamplerOptions,
  ) {
    this.aggregator = new Aggregator(classifier.numClasses, options.reduction, options.aggregate);
    this.modelSize = shapeSize(classifier.inputShape);
  }

  /** The vote source for one input: a fresh draw from `rng` for every sample. */
  votes(plan: Plan, sigma: number, rng: GaussianRng): VoteSource {
    this.reserve(plan);
    return (num) => this.count(plan, sigma, rng, num);
  }

  private reserve(plan: Plan): void {
    const modelLength = this.options.batch * plan.copies * this.modelSize;
    if (this.modelBuffers[0].length < modelLength) {
      this.modelBuffers = [new Float32Array(modelLength), new Float32Array(modelLength)];
    }
    const noiseLength = plan.gather.isIdentity ? 0 : this.options.batch * plan.center.length;
    if (this.noiseBuffer.length < noiseLength) this.noiseBuffer = new Float32Array(noiseLength);
  }

  private async count(plan: Plan, sigma: number, rng: GaussianRng, num: number): Promise<Uint32Array> {
    const counts = new Uint32Array(this.classifier.numClasses);
    let remaining = num;
    let which = 0;
    let inflight: { result: Promise<Float32Array>; size: number } | null = null;
    while (remaining > 0 || inflight) {
      let prepared: { buffer: Float32Array; size: number } | null = null;
      if (remaining > 0) {
        const size = Math.min(this.options.batch, remaining);
        remaining -= size;
        prepared = { buffer: this.modelBuffers[which], size };
        this.draw(plan, sigma, rng, prepared.buffer, size);
        which ^= 1;
      }
      if (inflight) this.tally(await inflight.result, inflight.size, plan.copies, counts);
      inflight = prepared
        ? { result: this.classifier.run(prepared.buffer, prepared.size * plan.copies), size: prepared.size }
        : null;
    }
    return counts;
  }

  /** Writes `size` noisy samples, gathered into model inputs, to `out`. */
  private draw(plan: Plan, sigma: number, rng: GaussianRng, out: Float32Array, size: number): void {
    const dim = plan.center.length;
    const stride = plan.copies * this.modelSize;
    if (plan.gather.isIdentity) {
      for (let s = 0; s < size; s++) rng.fillNoisy(out, s * stride, plan.center, sigma, this.options.grid);
      return;
    }
    const noise = this.noiseBuffer;
    for (let s = 0; s < size; s++) {
      rng.fillNoisy(noise, s * dim, plan.center, sigma, this.options.grid);
      plan.gather.apply(noise, s * dim, out, s * stride);
    }
  }

  private tally(outputs: Float32Array, size: number, copies: number, counts: Uint32Array): void {
    // A NaN or infinite score would vote for class 0 (or at random): refuse the model instead.
    const values = size * copies * this.classifier.numClasses;
    for (let i = 0; i < values; i++) {
      const v = outputs[i];
      if (v - v !== 0) {
        throw new UsageError(
          `the model returned a non-finite score (${v}) on a noisy sample; votes from it would be meaningless (check the model, e.g. a sqrt or log of a possibly negative value)`,
        );
      }
    }
    for (let s = 0; s < size; s++) counts[this.aggregator.vote(outputs, s * copies, copies)]++;
  }
}
