/**
 * Image resizing as an explicit LinearMap, with PyTorch's F.interpolate conventions
 * (align_corners=False, no antialiasing) so that results match the Python research code.
 */
import { LinearMap } from './linear-map.js';

export type ResizeMode = 'bilinear' | 'nearest';

interface Taps1D {
  taps: number;
  index: Int32Array;
  weight: Float64Array;
}

/** The 1-D resize matrix from `inSize` to `outSize` samples, as taps per output sample. */
export function resize1D(inSize: number, outSize: number, mode: ResizeMode): Taps1D {
  const scale = inSize / outSize;
  if (mode === 'nearest') {
    const index = new Int32Array(outSize);
    for (let o = 0; o < outSize; o++) index[o] = Math.min(Math.floor(o * scale), inSize - 1);
    return { taps: 1, index, weight: new Float64Array(outSize).fill(1) };
  }
  const index = new Int32Array(outSize * 2);
  const weight = new Float64Array(outSize * 2);
  for (let o = 0; o < outSize; o++) {
    const src = Math.max((o + 0.5) * scale - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const i1 = Math.min(i0 + 1, inSize - 1);
    const l1 = src - i0;
    index[2 * o] = i0;
    index[2 * o + 1] = i1;
    weight[2 * o] = 1 - l1;
    weight[2 * o + 1] = l1;
  }
  return { taps: 2, index, weight };
}

/** The 1-D resize as a map with its exact (float64) weights: for computing norms, not for applying. */
export function resizeAxisMap(inSize: number, outSize: number, mode: ResizeMode): LinearMap {
  const r = resize1D(inSize, outSize, mode);
  return new LinearMap(outSize, inSize, r.taps, r.index, r.weight);
}

/**
 * Resize of a C x H x W image (channel-planar) to C x outH x outW: R = R_h (x) R_w per channel.
 */
export function resizeMap(
  channels: number,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
  mode: ResizeMode,
): LinearMap {
  const rh = resize1D(inH, outH, mode);
  const rw = resize1D(inW, outW, mode);
  const taps = rh.taps * rw.taps;
  const rows = channels * outH * outW;
  const index = new Int32Array(rows * taps);
  const weight = new Float32Array(rows * taps);
  let k = 0;
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < outH; y++) {
      for (let x = 0; x < outW; x++) {
        for (let a = 0; a < rh.taps; a++) {
          for (let b = 0; b < rw.taps; b++, k++) {
            index[k] = c * inH * inW + rh.index[y * rh.taps + a] * inW + rw.index[x * rw.taps + b];
            weight[k] = rh.weight[y * rh.taps + a] * rw.weight[x * rw.taps + b];
          }
        }
      }
    }
  }
  return new LinearMap(rows, channels * inH * inW, taps, index, weight);
}
