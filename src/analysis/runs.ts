/**
 * Loading the runs named on a command line, and the option values the analysis commands share.
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
 * name the runs in order (one per log) instead of the manifests' labels or the paths.
 */
export function loadRuns(
  paths: readonly string[],
  space: RadiusSpace,
  labels: readonly string[] = [],
): LoadedRuns {
  if (paths.length === 0) throw new UsageError('no log given');
  if (labels.length > paths.length) {
    throw new UsageError(`${labels.length} labels given for ${paths.length} logs`);
  }
  const logs = paths.map((p) => readLog(p));
  const named = runLabels(logs);
  return {
    runs: logs.map((log, i) => ({ label: labels[i] ?? named[i], log, outcomes: outcomes(log, space) })),
    space,
    spaceDescription: spaceDescription(logs, space),
    warnings: logs.flatMap((l) => l.warnings),
  };
}

export function parseSpace(text: string): RadiusSpace {
  if (text === 'input' || text === 'smoothing') return text;
  throw new UsageError(`unknown radius space '${text}' (expected input or smoothing)`);
}

/** "0,0.25,0.5" -> [0, 0.25, 0.5]: numbers >= 0, in the order given. */
export function parseRadii(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const radii = parts.map((s) => (s === '' ? NaN : Number(s)));
  const bad = parts.filter((_, i) => !(radii[i] >= 0) || !Number.isFinite(radii[i]));
  if (parts.length === 0 || bad.length > 0) {
    throw new UsageError(`bad --radii '${text}': expected numbers >= 0 separated by commas, e.g. 0,0.25,0.5`);
  }
  return radii;
}

/** A positive number option, e.g. --max-radius. */
export function parsePositive(name: string, text: string): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v <= 0) {
    throw new UsageError(`bad ${name} '${text}': expected a number > 0`);
  }
  return v;
}

/** The axis title / caption words for radii, e.g. "L2 radius (input space)". */
export function radiusTitle(description: string): string {
  return `L2 radius (${description})`;
}
