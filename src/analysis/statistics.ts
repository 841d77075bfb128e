/**
 * The uncertainty of an evaluation on a finite set of inputs: a Clopper-Pearson interval on a
 * fraction of the inputs (certified accuracy at r), an exact McNemar test for paired yes/no
 * outcomes (abstains, certified at r), and a paired percentile bootstrap for differences of means
 * (ACR, certified accuracy). These are about the sampling of the inputs (would another 500 test
 * images give the same table?), not about the Monte Carlo noise inside each certificate, which the
 * certificates' own alpha already covers.
 */
import discreteUniform from '@stdlib/random-base-discrete-uniform';
import { binomialTwoSidedPValue, clopperPearsonLower, clopperPearsonUpper } from '../core/stats.js';
import { UsageError } from '../core/errors.js';

export interface Interval {
  low: number;
  high: number;
}

/** A confidence level in (0, 1), e.g. 0.95; a UsageError naming `what` otherwise. */
export function checkConfidence(confidence: number, what = 'confidence level'): number {
  if (!(confidence > 0 && confidence < 1)) {
    throw new UsageError(`bad ${what} ${confidence}: expected a number between 0 and 1, e.g. 0.95`);
  }
  return confidence;
}

/**
 * Two-sided Clopper-Pearson ("exact") interval on a binomial proportion at the given confidence:
 * [BetaQuantile(alpha/2; k, n - k + 1), BetaQuantile(1 - alpha/2; k + 1, n - k)] with alpha =
 * 1 - confidence, 0 at k = 0 and 1 at k = n (statsmodels' proportion_confint(method='beta')).
 * Computed by the certifier's one-sided bounds, so each end is moved outward by 1e-12 at most.
 */
export function clopperPearsonInterval(successes: number, trials: number, confidence = 0.95): Interval {
  checkConfidence(confidence);
  if (trials === 0) throw new RangeError('no trials: a proportion of 0 inputs has no interval');
  const alpha = (1 - confidence) / 2;
  return {
    low: clopperPearsonLower(successes, trials, alpha),
    high: clopperPearsonUpper(successes, trials, alpha),
  };
}

/**
 * Exact McNemar test of paired yes/no outcomes: under "A and B are alike", each of the discordant
 * pairs (yes in A only: `aOnly`; in B only: `bOnly`) falls either way with probability 1/2, so the
 * two-sided p-value is the exact binomial test of min(aOnly, bOnly) out of aOnly + bOnly at 1/2
 * (statsmodels' mcnemar(exact=True)); 1 when there is no discordant pair.
 */
export function mcnemarExact(aOnly: number, bOnly: number): number {
  return binomialTwoSidedPValue(Math.min(aOnly, bOnly), aOnly + bOnly);
}

/** Corrections for multiple comparisons: none, or Holm's step-down. */
export type Adjustment = 'none' | 'holm';

/** `--adjust` as given: none | holm; a UsageError otherwise. */
export function parseAdjustment(value: string): Adjustment {
  if (value === 'none' || value === 'holm') return value;
  throw new UsageError(`bad --adjust ${value}: expected none or holm`);
}

/**
 * Holm's step-down adjusted p-values (Holm 1979; statsmodels' multipletests(method='holm')): with
 * the m p-values sorted ascending, p_(i) becomes max over j <= i of min(1, (m - j + 1) p_(j)).
 * Rejecting where the adjusted value is below a level controls the family-wise error rate at that
 * level over the m tests, under any dependence between them. Returned in the input order.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const m = pValues.length;
  for (const p of pValues) if (!(p >= 0 && p <= 1)) throw new RangeError(`p-value ${p} is not in [0, 1]`);
  const order = pValues.map((_, i) => i).sort((i, j) => pValues[i] - pValues[j] || i - j);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach((i, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * pValues[i]));
    adjusted[i] = running;
  });
  return adjusted;
}

export interface BootstrapOptions {
  /** resamples of the inputs (default 10,000) */
  resamples?: number;
  /** seed of the resampling (MT19937; an integer from 1 to 2^32 - 1; default 1) */
  seed?: number;
  /** confidence level of the percentile intervals (default 0.95) */
  confidence?: number;
}

export const DEFAULT_RESAMPLES = 10_000;
export const DEFAULT_SEED = 1;

/**
 * Paired percentile bootstrap of means. `columns[j][i]` is statistic j of input i (for a paired
 * comparison, A's value minus B's on that input); each resample draws the inputs with replacement
 * (the same draw for every column, so the intervals of one call are of one resampling), and the
 * interval of column j is the (1 - c)/2 and (1 + c)/2 quantiles (linear interpolation, numpy's
 * default) of column j's resampled means. The same seed gives the same intervals.
 */
export function pairedBootstrap(
  columns: readonly ArrayLike<number>[],
  options: BootstrapOptions = {},
): Interval[] {
  const confidence = checkConfidence(options.confidence ?? 0.95);
  return bootstrapMeans(columns, options).map((m) => percentileInterval(m, confidence));
}

/**
 * The resampled means behind `pairedBootstrap`: `result[j][r]` is the mean of column j over
 * resample r, for statistics of several means (a ratio of two columns' means, resample by resample).
 */
export function bootstrapMeans(
  columns: readonly ArrayLike<number>[],
  options: Omit<BootstrapOptions, 'confidence'> = {},
): Float64Array[] {
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const seed = options.seed ?? DEFAULT_SEED;
  checkBootstrapOptions(resamples, seed);
  if (columns.length === 0) return [];
  const n = columns[0].length;
  if (n === 0) throw new RangeError('no inputs to resample');
  if (columns.some((c) => c.length !== n)) throw new RangeError('the columns have different lengths');
  const draw = discreteUniform.factory(0, n - 1, { seed });
  const means = columns.map(() => new Float64Array(resamples));
  const sums = new Float64Array(columns.length);
  for (let r = 0; r < resamples; r++) {
    sums.fill(0);
    for (let i = 0; i < n; i++) {
      const k = draw();
      for (let j = 0; j < columns.length; j++) sums[j] += columns[j][k];
    }
    for (let j = 0; j < columns.length; j++) means[j][r] = sums[j] / n;
  }
  return means;
}

/** The central `confidence` percentile interval of bootstrap replicates (left as they are). */
export function percentileInterval(replicates: ArrayLike<number>, confidence: number): Interval {
  const sorted = Float64Array.from(replicates).sort();
  return { low: quantile(sorted, (1 - confidence) / 2), high: quantile(sorted, (1 + confidence) / 2) };
}

export function checkBootstrapOptions(resamples: number, seed: number): void {
  if (!Number.isInteger(resamples) || resamples < 1 || resamples > 10_000_000) {
    throw new UsageError(`bad number of resamples ${resamples}: expected an integer from 1 to 10000000`);
  }
  if (!Number.isInteger(seed) || seed < 1 || seed > 2 ** 32 - 1) {
    throw new UsageError(`bad seed ${seed}: expected an integer from 1 to 4294967295`);
  }
}

/** Quantile p of sorted values, interpolating linearly between order statistics (numpy's 'linear'). */
export function quantile(sorted: ArrayLike<number>, p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** Whether an interval lies entirely on one side of 0 (a difference it calls significant). */
export function excludesZero(interval: Interval): boolean {
  return interval.low > 0 || interval.high < 0;
}
