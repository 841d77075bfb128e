/**
 * Patch geometry of Smooth-Reduce: where the base classifier's square windows sit in the
 * (resized) image, and which pixels each window reads.
 */
import type { GaussianRng } from '../core/rng.js';

export interface PatchSize {
  height: number;
  width: number;
}

export interface PatchPosition {
  top: number;
  left: number;
}

/** Positions 0, stride, 2 stride, ... <= size - patch along one axis. */
export function axisPositions(size: number, patch: number, stride: number): number[] {
  const out: number[] = [];
  for (let p = 0; p <= size - patch; p += stride) out.push(p);
  return out;
}

/**
 * The full grid of patch positions (row-major), optionally capped at `maxPatches` positions spread
 * evenly over the grid (first and last kept).
 */
export function gridPositions(
  height: number,
  width: number,
  patch: PatchSize,
  stride: number,
  maxPatches?: number,
): PatchPosition[] {
  const all: PatchPosition[] = [];
  for (const top of axisPositions(height, patch.height, stride)) {
    for (const left of axisPositions(width, patch.width, stride)) all.push({ top, left });
  }
  return spreadEvenly(all, maxPatches);
}

/**
 * At most `max` of `all`, spread evenly (first and last kept; one: the middle one). Patch grids and
 * video windows are capped alike.
 */
export function spreadEvenly<T>(all: T[], max?: number): T[] {
  if (max === undefined || max >= all.length) return all;
  if (max === 1) return [all[Math.floor(all.length / 2)]];
  const picked: T[] = [];
  for (let i = 0; i < max; i++) picked.push(all[Math.round((i * (all.length - 1)) / (max - 1))]);
  return picked;
}

/** `count` uniformly random positions (with replacement), drawn from a seeded generator. */
export function randomPositions(
  height: number,
  width: number,
  patch: PatchSize,
  count: number,
  rng: GaussianRng,
): PatchPosition[] {
  const out: PatchPosition[] = [];
  for (let i = 0; i < count; i++) {
    out.push({ top: rng.nextBelow(height - patch.height + 1), left: rng.nextBelow(width - patch.width + 1) });
  }
  return out;
}

/**
 * For every element of the stacked patches (patch, channel, row, column), the flat index of the
 * pixel it reads in the C x height x width image.
 */
export function patchPixelIndices(
  positions: PatchPosition[],
  channels: number,
  height: number,
  width: number,
  patch: PatchSize,
): Int32Array {
  const out = new Int32Array(positions.length * channels * patch.height * patch.width);
  let k = 0;
  for (const { top, left } of positions) {
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < patch.height; y++) {
        for (let x = 0; x < patch.width; x++) out[k++] = c * height * width + (top + y) * width + left + x;
      }
    }
  }
  return out;
}
