/**
 * Which inputs of a data set a run certifies, as in Cohen et al.'s certify.py (every `skip`-th index
 * below `max`), split over processes with `--shard i/n` (every n-th selected input from offset i).
 */
import { UsageError } from '../core/errors.js';

export interface Selection {
  skip: number;
  /** indices below this one; -1 for all */
  max: number;
  shard: { index: number; count: number } | null;
}

export function selectIndices(size: number, s: Selection): number[] {
  if (!Number.isInteger(s.skip) || s.skip < 1) throw new UsageError(`--skip must be >= 1, got ${s.skip}`);
  if (!Number.isInteger(s.max) || s.max < -1)
    throw new UsageError(`--max must be -1 (all) or >= 0, got ${s.max}`);
  const end = s.max < 0 ? size : Math.min(s.max, size);
  const out: number[] = [];
  for (let i = 0, k = 0; i < end; i += s.skip, k++) {
    if (!s.shard || k % s.shard.count === s.shard.index) out.push(i);
  }
  return out;
}

export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count)
    throw new UsageError(`--shard must be i/n with 0 <= i < n, got "${text}"`);
  return { index, count };
}
