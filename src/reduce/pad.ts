/**
 * Zero padding as an explicit LinearMap: the input embedded in a larger canvas with P zero pixels on
 * each side (the translation variant of Smooth-Reduce, `--pad P`). Every canvas pixel reads at most
 * one input pixel with weight 1 and every input pixel is read exactly once, so Pad^T Pad = I: the
 * map is an isometry, ||Pad delta|| = ||delta||, and a radius certified on the canvas IS an
 * input-space radius (spec section 3). Border rows have weight 0 (they read input pixel 0 times 0),
 * so that every row has one tap like the other one-tap maps.
 */
import { LinearMap } from './linear-map.js';

/** The 1-D zero pad of `size` samples by `pad` on each side, with exact (float64) weights. */
export function padAxisMap(size: number, pad: number): LinearMap {
  const out = size + 2 * pad;
  const index = new Int32Array(out);
  const weight = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    const i = o - pad;
    if (i >= 0 && i < size) {
      index[o] = i;
      weight[o] = 1;
    }
  }
  return new LinearMap(out, size, 1, index, weight);
}

/** Zero pad of a C x H x W image (channel-planar) to C x (H + 2 pad) x (W + 2 pad). */
export function padMap(channels: number, height: number, width: number, pad: number): LinearMap {
  const outH = height + 2 * pad;
  const outW = width + 2 * pad;
  const rows = channels * outH * outW;
  const index = new Int32Array(rows);
  const weight = new Float32Array(rows);
  let k = 0;
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < outH; y++) {
      for (let x = 0; x < outW; x++, k++) {
        const [iy, ix] = [y - pad, x - pad];
        if (iy >= 0 && iy < height && ix >= 0 && ix < width) {
          index[k] = c * height * width + iy * width + ix;
          weight[k] = 1;
        }
      }
    }
  }
  return new LinearMap(rows, channels * height * width, 1, index, weight);
}
