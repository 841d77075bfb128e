/**
 * What every data reader produces: labelled images in the channel-planar C x H x W layout, pixel
 * values in the range the model card names (usually [0, 1]); the noise is added in this scale.
 */
import type { Shape3 } from '../core/shape.js';

/** The label of an input whose class is not known (image files certified without --label); logged as -1. */
export const UNLABELLED = -1;

export interface Input {
  /** position in the data set (Cohen's `idx`): also seeds this input's noise stream */
  index: number;
  label: number;
  pixels: Float32Array;
}

export interface Dataset {
  /** e.g. "fashion-mnist test (data/fashion-mnist-sample)" */
  readonly description: string;
  readonly shape: Shape3;
  readonly size: number;
  /** class names when the format carries them */
  readonly classes?: string[];
  /** the input at `index` (0 <= index < size) */
  get(index: number): Promise<Input>;
  /** the label of the input at `index`, without decoding it (checked against the model's classes) */
  labelOf?(index: number): number;
  /**
   * Checks, without decoding them, that the inputs at `indices` can be read (file headers, sizes,
   * truncation), so that a bad file stops the run before any sampling; throws a UsageError.
   */
  check?(indices: readonly number[]): void;
}
