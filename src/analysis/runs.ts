/**
 * Loading the runs named on a command line.
 */
import { UsageError } from '../core/errors.js';
import {
  outcomes,
  readLog,
  runLabels,
  spaceDescription,
  type CertificationLog,
  type RadiusSpace,
} from './log.js';
import type { Outcome } from './metrics.js';

export interface LoadedRun {
  label: string;
  log: CertificationLog;
  outcomes: Outcome[];
}

export interface LoadedRuns {
  runs: LoadedRun[];
  space: RadiusSpace;
  /** e.g. "input space", for captions and axis titles */
  spaceDescription: string;
  /** from all logs, e.g. torn last lines */
  warnings: string[];
}

/**
 * Reads each log (and its manifest) and takes the radius of `space` from it. `labels`, when given,
 * name the runs in order (one per log) instead of the manifests' labels or the paths. With
 * `common`, each run keeps only the inputs (idx) that every log has.
 */
export function loadRuns(
  paths: readonly string[],
  space: RadiusSpace,
  labels: readonly string[] = [],
  common = false,
): LoadedRuns {
  if (paths.length === 0) throw new UsageError('no log given');
  if (labels.length > paths.length) {
    throw new UsageError(`${labels.length} labels given for ${paths.length} logs`);
  }
  const logs = paths.map((p) => readLog(p));
  const named = runLabels(logs);
  let all = logs.map((log) => outcomes(log, space));
  if (common) {
    const shared = all
      .map((o) => new Set(o.map((x) => x.idx)))
      .reduce((a, b) => new Set([...a].filter((idx) => b.has(idx))));
    if (shared.size === 0) throw new UsageError('--common: the logs have no input (idx) in common');
    all = all.map((o) => o.filter((x) => shared.has(x.idx)));
  }
  return {
    runs: logs.map((log, i) => ({ label: labels[i] ?? named[i], log, outcomes: all[i] })),
    space,
    spaceDescription: spaceDescription(logs, space),
    warnings: logs.flatMap((l) => l.warnings),
  };
}

/** The axis title / caption words for radii, e.g. "L2 radius (input space)". */
export function radiusTitle(description: string): string {
  return `L2 radius (${description})`;
}
