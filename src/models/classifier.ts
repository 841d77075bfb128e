/**
 * The base classifier f as the smoothing code sees it: a batch of C x H x W inputs (or clip windows) in, a batch of
 * score vectors (logits) out. ONNX Runtime implements it in Node, onnxruntime-web in the browser,
 * and tests implement it in plain TypeScript.
 */
import type { ClipLayout, Shape3 } from '../core/shape.js';

export interface Classifier {
  /** shape of one input (C x H x W; video classifiers: C x T x H x W, T frames per window) */
  readonly inputShape: Shape3;
  /** video classifiers: the order of the input tensor's axes ('NCTHW' when absent) */
  readonly layout?: ClipLayout;
  readonly numClasses: number;
  /** the pixel scale the noise is added in (default [0, 1]); fixes the sampler's grid */
  readonly pixelRange?: readonly [number, number];
  /**
   * Scores for `count` inputs stored one after another in `batch` (count * C * H * W values).
   * May overwrite `batch` (e.g. to normalise in place). Returns count * numClasses values.
   */
  run(batch: Float32Array, count: number): Promise<Float32Array>;
  dispose?(): Promise<void>;
  /**
   * The process's memory in use, in bytes (onnxruntime-node: the resident set size). The sampler
   * measures how much a model call adds from it and keeps calls within its memory budget; without
   * it, only the sampler's own buffers are counted.
   */
  memoryInUse?(): number;
}
