/**
 * Denoised smoothing (Salman et al., NeurIPS 2020; Carlini et al., ICLR 2023): a denoiser D in front
 * of a classifier f that never saw noise. The base classifier that is smoothed is f(D(.)), run on
 * every noisy sample AFTER the noise (and after the sampler's grid snap), so Cohen et al.'s theorem
 * and every radius rule apply to it unchanged: D is part of the base classifier, not of the input.
 *
 * `DenoisedClassifier` is that composition as a `Classifier` (D on each model input). A
 * SmoothedClassifier given one runs D once per noisy sample in the smoothing space instead where
 * that space is an image D accepts (Smooth-Reduce's resized image: one denoiser call per sample,
 * not one per patch), and says which in `denoising`. No Node imports.
 */
import { UsageError } from '../core/errors.js';
import { type Shape3, formatShape } from '../core/shape.js';
import type { Classifier } from './classifier.js';

/** An image-to-image model: noisy images in, denoised images of the same shape out. */
export interface Denoiser {
  /** a name for messages and manifests */
  readonly name: string;
  /** image channels it takes */
  readonly channels: number;
  /** the pixel scale of its input and output (default [0, 1]); must be the classifier's */
  readonly pixelRange?: readonly [number, number];
  /** whether it takes images of this height and width (fully convolutional denoisers take any) */
  accepts(shape: Shape3): boolean;
  /** Denoises `count` images of `shape` stored one after another; returns count * size values. */
  run(batch: Float32Array, count: number, shape: Shape3): Promise<Float32Array>;
  dispose?(): Promise<void>;
}

/** Where the denoiser runs: once per noisy sample (the smoothing space) or on each model input. */
export interface Denoising {
  /** 'sample': on each noisy sample in the smoothing space; 'model-input': on each patch / input */
  on: 'sample' | 'model-input';
  /** the shape the denoiser is run on */
  shape: Shape3;
}

/** f(D(x)) as a Classifier: D on each model input, then f. */
export class DenoisedClassifier implements Classifier {
  readonly inputShape: Shape3;
  readonly numClasses: number;
  readonly pixelRange?: readonly [number, number];

  constructor(
    readonly denoiser: Denoiser,
    readonly base: Classifier,
  ) {
    checkDenoiser(denoiser, base);
    this.inputShape = base.inputShape;
    this.numClasses = base.numClasses;
    this.pixelRange = base.pixelRange;
  }

  async run(batch: Float32Array, count: number): Promise<Float32Array> {
    return this.base.run(await this.denoiser.run(batch, count, this.inputShape), count);
  }

  memoryInUse(): number {
    return this.base.memoryInUse?.() ?? 0;
  }

  /** Releases both models. */
  async dispose(): Promise<void> {
    await this.denoiser.dispose?.();
    await this.base.dispose?.();
  }

  /**
   * Where the denoiser runs for a configuration whose smoothing space has `smoothingShape`: once per
   * sample when that space is an image the denoiser takes, else on each model input.
   */
  denoisingFor(smoothingShape: readonly number[]): Denoising {
    if (smoothingShape.length === 3) {
      const [channels, height, width] = smoothingShape;
      const shape = { channels, height, width };
      if (this.denoiser.accepts(shape)) return { on: 'sample', shape };
    }
    return { on: 'model-input', shape: this.inputShape };
  }
}

/**
 * Refuses a denoiser that does not fit the classifier (one line): video models, another channel
 * count, another pixel range, or a model input size the denoiser does not take.
 */
export function checkDenoiser(denoiser: Denoiser, classifier: Classifier): void {
  const shape = classifier.inputShape;
  if (shape.frames !== undefined)
    throw new UsageError(
      `a denoiser applies to image classifiers; the model takes video clips (${formatShape(shape)})`,
    );
  if (denoiser.channels !== shape.channels)
    throw new UsageError(
      `the denoiser ${denoiser.name} takes ${denoiser.channels} channel(s) but the classifier takes ${shape.channels}`,
    );
  const [lo, hi] = denoiser.pixelRange ?? [0, 1];
  const [clo, chi] = classifier.pixelRange ?? [0, 1];
  if (lo !== clo || hi !== chi)
    throw new UsageError(
      `the denoiser ${denoiser.name} works in pixel range [${lo}, ${hi}] but the classifier in [${clo}, ${chi}]; ` +
        'both cards must name the range the noise is added in',
    );
  if (!denoiser.accepts(shape))
    throw new UsageError(
      `the denoiser ${denoiser.name} does not take the classifier's input size ${formatShape(shape)}`,
    );
}
