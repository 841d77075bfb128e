/**
 * Smooth-Reduce over time: the Reducer for video clips (spec, section 2, "Video"). A clip x is
 * C x T x H x W; the classifier takes windows of L consecutive frames (C x L x H x W, in its own
 * layout). Windows start at 0, stride, 2 stride, ... <= T - L, capped at `maxWindows` spread evenly.
 * Windows only select frames (no resize), so every map below is a 0/1 selection:
 *
 * | method / noise        | smoothing space        | M            | G                | ||M||_2              |
 * | rs                    | one window             | W_o          | I                | 1                    |
 * | max|mean correlated   | the input clip         | I            | (W_1; ...; W_k)  | 1                    |
 * | max|mean uncorrelated | stacked windows        | (W_1;...;W_k)| I                | sqrt(max coverage)   |
 *
 * rs smooths the classifier on one window (the centred one, starting at floor((T - L) / 2), or the
 * one starting at `windowOffset`):
 * a perturbation delta of the clip moves the window by W_o delta, ||W_o delta|| <= ||delta||, so its
 * radius holds for the clip. Correlated noise is one draw on the clip shared by overlapping windows:
 * the smoothing space is the clip itself. Uncorrelated noise is an independent draw per window, the
 * smoothing space is the stacked windows T x = (W_1 x, ..., W_k x), and T^T T is diagonal with the
 * number of windows covering each frame, so ||T||_2 = sqrt(max over frames of that number)
 * (spec, section 3).
 */
import { UsageError } from '../core/errors.js';
import { type ClipLayout, type Shape3, formatShape, shapeSize } from '../core/shape.js';
import { LinearMap } from './linear-map.js';
import { axisPositions, spreadEvenly } from './patches.js';
import type { Geometry, Plan, ReduceOptions, Reducer } from './reducer.js';

/** Start frames of the windows a configuration uses on a clip of `frames` frames. */
export function windowStarts(frames: number, window: number, options: ReduceOptions): number[] {
  if (options.method === 'rs') return [options.windowOffset ?? Math.floor((frames - window) / 2)];
  return spreadEvenly(axisPositions(frames, window, options.windowStride ?? window), options.maxWindows);
}

/**
 * For every element of the stacked windows, in the model's layout, the flat index of the value it
 * reads in the C x T x H x W clip.
 */
export function windowIndices(
  starts: number[],
  clip: Shape3,
  window: number,
  layout: ClipLayout,
): Int32Array {
  const T = clip.frames!;
  const C = clip.channels;
  const plane = clip.height * clip.width;
  const out = new Int32Array(starts.length * C * window * plane);
  let k = 0;
  for (const s of starts) {
    for (let a = 0; a < (layout === 'NCTHW' ? C : window); a++) {
      for (let b = 0; b < (layout === 'NCTHW' ? window : C); b++) {
        const [c, t] = layout === 'NCTHW' ? [a, b] : [b, a];
        const base = (c * T + s + t) * plane;
        for (let i = 0; i < plane; i++) out[k++] = base + i;
      }
    }
  }
  return out;
}

/** The largest number of windows that cover one frame. */
export function maxCoverage(starts: number[], window: number): number {
  const cover = new Map<number, number>();
  for (const s of starts) for (let t = s; t < s + window; t++) cover.set(t, (cover.get(t) ?? 0) + 1);
  return Math.max(...cover.values());
}

export class WindowReducer implements Reducer {
  readonly geometry: Geometry;
  readonly fixedNoiseScale: number;
  /** start frame of every window */
  readonly starts: number[];
  private readonly map: LinearMap;
  private readonly gather: LinearMap;

  /**
   * @param clipShape the data's clips (C x T x H x W)
   * @param modelShape one window as the classifier takes it (C x L x H x W)
   */
  constructor(
    readonly options: ReduceOptions,
    readonly clipShape: Shape3,
    readonly modelShape: Shape3,
    readonly layout: ClipLayout = 'NCTHW',
  ) {
    const o = options;
    const T = clipShape.frames;
    const L = modelShape.frames!;
    if (T === undefined) {
      throw new UsageError(
        `the model takes video windows (${formatShape(modelShape)}) but the data holds images (${formatShape(clipShape)})`,
      );
    }
    if (clipShape.channels !== modelShape.channels) {
      throw new UsageError(
        `the clips have ${clipShape.channels} channel(s) but the model takes ${modelShape.channels}`,
      );
    }
    if (clipShape.height !== modelShape.height || clipShape.width !== modelShape.width) {
      throw new UsageError(
        `the clips' frames are ${clipShape.height}x${clipShape.width} but the model takes ${modelShape.height}x${modelShape.width}; pass --size ${modelShape.height}`,
      );
    }
    if (o.window !== undefined && o.window !== L) {
      throw new UsageError(`--window ${o.window}, but the model takes windows of ${L} frames`);
    }
    if (L > T) throw new UsageError(`a window of ${L} frames is longer than the clip (--frames ${T})`);
    if (o.windowStride !== undefined && !(Number.isInteger(o.windowStride) && o.windowStride >= 1))
      throw new UsageError(`--window-stride must be a whole number >= 1, got ${o.windowStride}`);
    if (o.maxWindows !== undefined && !(Number.isInteger(o.maxWindows) && o.maxWindows >= 1))
      throw new UsageError(`--max-windows must be a whole number >= 1, got ${o.maxWindows}`);
    if (o.windowOffset !== undefined) {
      if (o.method !== 'rs') throw new UsageError('--window-offset picks the one window of --method rs');
      if (!(Number.isInteger(o.windowOffset) && o.windowOffset >= 0 && o.windowOffset <= T - L))
        throw new UsageError(
          `--window-offset must be a start frame in [0, ${T - L}] (clip ${T}, window ${L}), got ${o.windowOffset}`,
        );
    }
    if (o.method !== 'rs' && o.noise === 'input')
      throw new UsageError(
        '--noise input applies to resized images; video windows take correlated or uncorrelated',
      );
    this.starts = windowStarts(T, L, o);
    const rows = windowIndices(this.starts, clipShape, L, layout);
    const k = this.starts.length;
    const clip = LinearMap.identity(shapeSize(clipShape));
    const frames = (s: number) => `${s}-${s + L - 1}`;
    if (o.method === 'rs' || o.noise === 'uncorrelated') {
      this.map = clip.selectRows(rows);
      this.gather = LinearMap.identity(rows.length);
      // T^T T = diag(coverage): the norm is exact; the margin covers the rounding of the square root
      this.fixedNoiseScale = k === 1 ? 1 : Math.sqrt(maxCoverage(this.starts, L)) * (1 + 1e-12);
      const space =
        o.method === 'rs'
          ? `window (frames ${frames(this.starts[0])} of ${T})`
          : `stacked windows (${k} x ${formatShape(modelShape)}, frames ${this.starts.map(frames).join(', ')})`;
      this.geometry = { smoothingSpace: space, smoothingShape: [k, ...dims(modelShape)], copies: k };
    } else {
      this.map = clip;
      this.gather = clip.selectRows(rows);
      this.fixedNoiseScale = 1;
      this.geometry = {
        smoothingSpace: `input clip (${k} windows, frames ${this.starts.map(frames).join(', ')})`,
        smoothingShape: dims(clipShape),
        copies: k,
      };
    }
  }

  prepare(pixels: Float32Array, index: number): Plan {
    if (pixels.length !== shapeSize(this.clipShape)) {
      throw new UsageError(
        `clip ${index} has ${pixels.length} values, expected ${shapeSize(this.clipShape)}`,
      );
    }
    let center = pixels;
    if (!this.map.isIdentity) {
      center = new Float32Array(this.map.rows);
      this.map.apply(pixels, 0, center, 0);
    }
    return {
      center,
      noiseScale: this.fixedNoiseScale,
      // the centre is the clip or a selection of its float32 values: no rounding
      centerError: 0,
      copies: this.geometry.copies,
      gather: this.gather,
      positions: [],
      windows: this.starts,
    };
  }
}

function dims(s: Shape3): number[] {
  return [s.channels, s.frames!, s.height, s.width];
}
