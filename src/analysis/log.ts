/**
 * Certification logs for the analysis: a log (`../io/tsv-log.ts` reads it: Cohen et al.'s columns
 * and ours, found by name) with the run manifest beside it (`<log>.manifest.json`), which, when
 * present, names the run and the radius space.
 */
import { basename } from 'node:path';
import { UsageError } from '../core/errors.js';
import { certifiedRadius, clopperPearsonLower } from '../core/stats.js';
import { type RunManifest, manifestBeside } from '../io/manifest.js';
import { type ParsedLog, readLogFile } from '../io/tsv-log.js';
import { assertConsistent } from '../verify/rederive.js';
import { type Outcome, sampleCap } from './metrics.js';

/** Which radius a log's numbers are analysed in: `radius` (input space) or `radius_smoothing`. */
export type RadiusSpace = 'input' | 'smoothing';

export interface CertificationLog extends ParsedLog {
  /** the manifest beside the log; manifests of other versions may lack fields */
  manifest: Partial<RunManifest> | null;
}

/**
 * Reads a log and the manifest beside it (if any). Missing or unreadable files are UsageErrors, and
 * so is an idx on two lines (two writers on one log, or logs concatenated): counting it twice would
 * weigh that input double; and so is a line whose radius or pA_lower its counts do not give
 * (assertConsistent).
 */
export function readLog(path: string): CertificationLog {
  const log = readLogFile(path, {
    onDuplicate: (idx, line, first) => {
      throw new UsageError(
        `${path}:${line}: idx ${idx} again (first on line ${first}); a log holds each input once (\`merge\` joins shards)`,
      );
    },
  });
  const manifest = manifestBeside(path);
  assertConsistent(log, manifest);
  return { ...log, manifest };
}

/**
 * What the analysis needs of each input, with the radius of the chosen space: `radius` (input
 * space, the default) or `radius_smoothing`, which a log must have for `space = 'smoothing'`.
 */
export function outcomes(log: CertificationLog, space: RadiusSpace = 'input'): Outcome[] {
  if (space === 'smoothing' && log.kind === 'certify' && !log.columns.includes('radius_smoothing')) {
    throw new UsageError(
      `${log.path} has no radius_smoothing column, so it cannot be analysed in smoothing space`,
    );
  }
  return log.rows.map((r) => {
    const n = 'n' in r.fields && r.fields.n !== '' ? r.fields.n : null;
    return {
      idx: r.idx,
      label: r.label,
      predict: r.predict,
      correct: r.correct,
      radius: space === 'smoothing' ? r.radiusSmoothing : r.radius,
      time: r.time,
      samples: n === null ? null : Number(n),
      unanimous: n !== null && r.fields.count_A === n,
    };
  });
}

/**
 * A name for each log: the manifest's `label` when it has one, else a name from the path: the
 * file name without `.tsv`/`.txt`, or for extension-less files like Cohen's the last three parts
 * (`noise_0.25/test/sigma_0.25`); more leading parts are added while two names collide.
 */
export function runLabels(logs: Pick<CertificationLog, 'path' | 'manifest'>[]): string[] {
  const parts = logs.map((l) => l.path.split(/[\\/]+/).filter((p) => p.length > 0 && p !== '.'));
  const depth = logs.map((l) => (/\.[A-Za-z][A-Za-z0-9]*$/.test(basename(l.path)) ? 1 : 3));
  const suffix = logs.map(() => false);
  const fromPath = (i: number) => {
    const p = parts[i].slice(-depth[i]);
    if (p.length > 0) p[p.length - 1] = p[p.length - 1].replace(/\.(tsv|txt|log)$/i, '');
    return p.join('/');
  };
  const label = (i: number) => {
    const given = logs[i].manifest?.label;
    if (typeof given !== 'string' || given.length === 0) return fromPath(i);
    return suffix[i] ? `${given} (${fromPath(i)})` : given;
  };
  let labels = logs.map((_, i) => label(i));
  for (;;) {
    const count = new Map<string, number>();
    for (const l of labels) count.set(l, (count.get(l) ?? 0) + 1);
    let changed = false;
    labels.forEach((l, i) => {
      if ((count.get(l) ?? 0) < 2) return;
      const given = logs[i].manifest?.label;
      if (typeof given === 'string' && given.length > 0 && !suffix[i]) {
        suffix[i] = true;
      } else if (depth[i] < parts[i].length) {
        depth[i]++;
      } else {
        return;
      }
      changed = true;
    });
    if (!changed) return labels;
    labels = logs.map((_, i) => label(i));
  }
}

/** The words that say which space a radius is in, for captions and axis titles. */
export function spaceDescription(logs: Pick<CertificationLog, 'manifest'>[], space: RadiusSpace): string {
  if (space === 'input') return 'input space';
  const named = [
    ...new Set(logs.map((l) => l.manifest?.smoothingSpace).filter((s) => typeof s === 'string')),
  ];
  return named.length === 1 ? `smoothing space: ${named[0]}` : 'smoothing space';
}

/**
 * The sample-size cap of a log's run in `space`: the smallest radius of a unanimous input
 * (`sampleCap`), or, where no input was unanimous, the cap the manifest implies: sigma times the
 * normal quantile of the Clopper-Pearson bound at n of n (alpha^(1/n)), in input space divided by
 * the reducer's norm bound. That bound leaves out the per-input float deductions, so it is an upper
 * bound on any radius the run can certify (too high by a relative 1e-5 at most). Infinity when
 * neither is known (no unanimous input and a manifest without sigma, n, alpha or a fixed norm).
 */
export function runCap(log: CertificationLog, runOutcomes: readonly Outcome[], space: RadiusSpace): number {
  const observed = sampleCap(runOutcomes);
  if (Number.isFinite(observed)) return observed;
  const options = log.manifest?.options ?? {};
  const { sigma, alpha } = options;
  const n = Math.max(0, ...runOutcomes.map((o) => o.samples ?? 0));
  const scale = space === 'smoothing' ? 1 : log.manifest?.noiseScale;
  if (typeof sigma !== 'number' || typeof alpha !== 'number' || n === 0 || typeof scale !== 'number') {
    return Infinity;
  }
  return certifiedRadius(sigma, clopperPearsonLower(n, n, alpha)) / scale;
}
