/**
 * Which result logs were drawn with a sampler other than the current one (src/core/rng.ts SAMPLER):
 * a log whose manifest names no sampler predates the floating-point-sound sampler, and one naming an
 * older sampler cannot be regenerated bit for bit by the current code. Either must be rerun (or
 * removed with its claims) before its numbers are quoted beside current runs (issue 29, point 6).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SAMPLER } from '../../src/core/rng.js';

export interface StaleLog {
  /** the log's file name (the manifest is `<log>.manifest.json` beside it) */
  log: string;
  /** the sampler its manifest names, null when it names none, or 'no manifest' */
  sampler: string | null;
}

/** Every `*.tsv` log in `folder` whose manifest does not name `current` as its sampler, sorted. */
export function staleLogs(folder: string, current: string = SAMPLER): StaleLog[] {
  const stale: StaleLog[] = [];
  for (const log of readdirSync(folder)
    .filter((f) => f.endsWith('.tsv'))
    .sort()) {
    const path = join(folder, `${log}.manifest.json`);
    if (!existsSync(path)) {
      stale.push({ log, sampler: 'no manifest' });
      continue;
    }
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as { options?: { sampler?: unknown } };
    const sampler = manifest.options?.sampler;
    if (sampler !== current) stale.push({ log, sampler: typeof sampler === 'string' ? sampler : null });
  }
  return stale;
}
