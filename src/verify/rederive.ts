/**
 * Re-deriving a certification log from its own numbers (spec section 6): every line's pA_lower,
 * radius_smoothing and radius are functions of its counts (count_A of n), the run's sigma and alpha,
 * the floating-point deduction and the norm bound in its manifest. This module recomputes them with
 * the very functions that wrote them (../core/stats.ts, as ../core/smooth.ts and
 * ../smoothed-classifier.ts apply them) and refuses any written value ABOVE the recomputed one.
 * Values below are sound (the log rounds toward zero, and an input whose centre was rounded or
 * whose pixels lie outside the model's range is charged more), so no tolerance is needed: a value
 * written by this code never exceeds what its counts give, bit for bit.
 *
 * Written to be audited on its own; no Node imports, so the page can check a dropped log too.
 *
 *   deduction   = smoothingDimension * samplerDeviationPerCoordinate     (manifest floatingPoint)
 *   pA_lower    = max(0, ClopperPearsonLower(count_A, n, alpha') - deduction)
 *                 alpha' = alpha, or alpha / looks for adaptive certification
 *   abstain     when pA_lower < 1/2
 *   radius_smoothing = sigma * PhiInv(pA_lower) * (1 - FLOAT_MARGIN)         (certifiedRadius)
 *   radius     <= radius_smoothing / noiseScale * (1 - FLOAT_MARGIN)        (input space; equal when
 *                 the centre's rounding error is 0)
 */
import { certifiedRadius, clopperPearsonLower, FLOAT_MARGIN } from '../core/stats.js';
import { UsageError } from '../core/errors.js';
import type { LogRow, ParsedLog } from '../io/log-format.js';

const ABSTAIN = -1;

/** What a manifest must say for its lines to be re-derived (a RunManifest has it all). */
export interface ManifestLike {
  command?: string;
  options?: Record<string, unknown>;
  /** upper bound on ||M||_2; null when it differs per input (random patches, uncorrelated noise) */
  noiseScale?: number | null;
  floatingPoint?: { samplerDeviationPerCoordinate: number; smoothingDimension: number; written?: string };
}

/** The run's constants every line is re-derived with. */
export interface RederiveParams {
  sigma: number;
  /** the level of each line's Clopper-Pearson bound: alpha, or alpha / looks (adaptive) */
  alpha: number;
  /** estimation samples of the run */
  n: number;
  /** false when a line may have drawn fewer than n (adaptive, input-specific) */
  allSamples: boolean;
  /** probability subtracted from pA's lower bound for the sampler (0 when the manifest has none) */
  deduction: number;
  /** null: the input-space radius is not re-derived (its norm bound is per input) */
  noiseScale: number | null;
}

/** The parameters of a certify run's manifest, or a reason why its lines cannot be re-derived. */
export function rederiveParams(m: ManifestLike): RederiveParams | string {
  if (m.command !== 'certify') return 'not a certify run';
  const o = m.options ?? {};
  const { sigma, alpha, n } = o;
  if (typeof sigma !== 'number' || typeof alpha !== 'number' || typeof n !== 'number')
    return 'the manifest names no sigma, alpha or n';
  const adaptive = typeof o.adaptiveRadius === 'number';
  const looks = adaptive ? Number(o.looks ?? 5) : 1;
  const fp = m.floatingPoint;
  return {
    sigma,
    alpha: alpha / looks,
    n,
    allSamples: !adaptive && typeof o.sampleLoss !== 'number',
    deduction: fp ? fp.smoothingDimension * fp.samplerDeviationPerCoordinate : 0,
    noiseScale: typeof m.noiseScale === 'number' ? m.noiseScale : null,
  };
}

export interface Rederived {
  pALower: number;
  /** 0 when the counts do not certify (pA_lower < 1/2) */
  radiusSmoothing: number;
  /** the largest input-space radius the counts allow; null when the norm is per input */
  radius: number | null;
}

/** The largest values a line with `countA` of `n` votes may carry. */
export function rederive(countA: number, n: number, p: RederiveParams): Rederived {
  const pALower = Math.max(0, clopperPearsonLower(countA, n, p.alpha) - p.deduction);
  if (pALower < 0.5) return { pALower, radiusSmoothing: 0, radius: 0 };
  const radiusSmoothing = certifiedRadius(p.sigma, pALower);
  const radius = p.noiseScale === null ? null : (radiusSmoothing / p.noiseScale) * (1 - FLOAT_MARGIN);
  return { pALower, radiusSmoothing, radius };
}

/**
 * How far above the re-derived value a written one may be: 'exact' for logs whose manifest says
 * they round toward zero (only a relative 2^-44, for another JavaScript engine's last-bit
 * differences in log and exp, far below FLOAT_MARGIN), 'rounding' for older logs, which rounded to
 * the nearest 6th significant digit (one unit in that digit).
 */
export type Tolerance = 'exact' | 'rounding';

/** The tolerance a manifest's `floatingPoint.written` calls for. */
export function toleranceOf(m: { floatingPoint?: { written?: string } } | null): Tolerance {
  return m?.floatingPoint?.written?.includes('toward zero') ? 'exact' : 'rounding';
}

const slack = (x: number, tolerance: Tolerance) =>
  x === 0
    ? 0
    : tolerance === 'exact'
      ? Math.abs(x) * 2 ** -44
      : 10 ** (Math.floor(Math.log10(Math.abs(x))) - 5);

/** What is wrong with one CERTIFY line (without the file:line prefix), or null when it holds. */
export function lineProblem(row: LogRow, p: RederiveParams, tolerance: Tolerance = 'exact'): string | null {
  const f = row.fields;
  const int = (name: string) => (/^\d+$/.test(f[name] ?? '') ? Number(f[name]) : NaN);
  const countA = int('count_A');
  const n = int('n');
  if (Number.isNaN(countA) || Number.isNaN(n)) return `count_A '${f.count_A}' or n '${f.n}' is not a count`;
  if (countA > n) return `count_A ${countA} is more than n ${n}`;
  if (p.allSamples ? n !== p.n : n > p.n)
    return `n ${n}, but the run drew ${p.allSamples ? '' : 'at most '}${p.n}`;
  if (row.correct !== (row.predict === row.label))
    return `correct ${row.correct ? 1 : 0} but predict ${row.predict} and label ${row.label}`;
  const r = rederive(countA, n, p);
  const counts = `count_A ${countA} of n ${n} at sigma ${p.sigma}, alpha ${p.alpha}`;
  const above = (name: string, written: number, derived: number) =>
    written > derived + slack(derived, tolerance)
      ? `${name} ${f[name]} is above ${derived}, the most its counts give (${counts})`
      : null;
  const pA = Number(f.pA_lower);
  if (f.pA_lower !== undefined && !(pA >= 0)) return `bad pA_lower '${f.pA_lower}'`;
  const radiusSmoothing = row.radiusSmoothing ?? 0;
  const radius = row.radius ?? 0;
  if (row.predict === ABSTAIN) {
    if (radius !== 0 || radiusSmoothing !== 0) return `abstains (predict -1) with a radius above 0`;
    return f.pA_lower === undefined ? null : above('pA_lower', pA, r.pALower);
  }
  if (r.radiusSmoothing === 0)
    return `certifies class ${row.predict}, but its counts give pA_lower ${r.pALower} < 0.5 (${counts})`;
  return (
    (f.pA_lower === undefined ? null : above('pA_lower', pA, r.pALower)) ??
    (row.radiusSmoothing === null ? null : above('radius_smoothing', radiusSmoothing, r.radiusSmoothing)) ??
    (r.radius === null ? null : above('radius', radius, r.radius))
  );
}

/** What the checks read of a log (a ParsedLog, or a resumed TsvLog's rows). */
export type LogLines = Pick<ParsedLog, 'path' | 'kind' | 'columns' | 'rows'>;

/** One problem of a log: its line (1-based) and what is wrong. */
export interface Problem {
  line: number;
  message: string;
}

/**
 * Every inconsistent line of a log: an idx seen before, a CERTIFY line whose written values its
 * counts do not give. Without re-derivable parameters (a PREDICT log, a manifest without sigma)
 * only the idx are checked.
 */
export function logProblems(
  log: LogLines,
  p: RederiveParams | null,
  tolerance: Tolerance = 'exact',
): Problem[] {
  const problems: Problem[] = [];
  const first = new Map<number, number>();
  const countable =
    p !== null && log.kind === 'certify' && log.columns.includes('count_A') && log.columns.includes('n');
  for (const row of log.rows) {
    const seen = first.get(row.idx);
    if (seen !== undefined)
      problems.push({ line: row.line, message: `idx ${row.idx} again (first on line ${seen})` });
    else first.set(row.idx, row.line);
    const problem = countable ? lineProblem(row, p, tolerance) : null;
    if (problem) problems.push({ line: row.line, message: `idx ${row.idx}: ${problem}` });
  }
  return problems;
}

/**
 * Refuses a log whose lines disagree with themselves (`logProblems`), with one line naming
 * file:line: what resume, merge, analyze and compare read must be what its counts certify.
 * `manifest` is the run's (null: only duplicate idx are checked).
 */
export function assertConsistent(log: LogLines, manifest: ManifestLike | null): void {
  const p = manifest ? rederiveParams(manifest) : null;
  const [problem, ...more] = logProblems(log, typeof p === 'string' ? null : p, toleranceOf(manifest));
  if (!problem) return;
  const others = more.length > 0 ? ` (and ${more.length} more line${more.length === 1 ? '' : 's'})` : '';
  throw new UsageError(
    `${log.path}:${problem.line}: ${problem.message}${others}; the log does not agree with itself (edited or corrupted): run \`smooth-reduce verify\` on it`,
  );
}
