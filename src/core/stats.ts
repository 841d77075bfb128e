/**
 * The statistical primitives of randomized smoothing (Cohen, Rosenfeld, Kolter, ICML 2019) and of
 * the sound variants here, delegated to @stdlib so that their numerics are a well-kept library's,
 * not ours.
 */
import betaQuantile from '@stdlib/stats-base-dists-beta-quantile';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import binomialTest from '@stdlib/stats-binomial-test';

/**
 * Relative margin by which bounds computed in floating point are moved toward safety. @stdlib's
 * beta quantile was measured within 1 ulp of mpmath's exact value for n <= 1000 and within 30 ulps
 * (4e-15 relative) of scipy's for n = 10^6, where both libraries are only that accurate; the normal
 * quantile within 1 ulp. 2^-40 (9e-13) is 200 times the largest error seen and changes no radius
 * by more than a part in 10^12.
 */
export const FLOAT_MARGIN = 2 ** -40;

/**
 * One-sided (1 - alpha) Clopper-Pearson lower confidence bound on a binomial proportion after
 * `successes` out of `trials`: BetaQuantile(alpha; k, n - k + 1), and 0 when k = 0, moved down by
 * FLOAT_MARGIN so that it never exceeds the exact value.
 * Cohen et al. compute it as the lower end of a two-sided 1 - 2 alpha interval, which is the same.
 */
export function clopperPearsonLower(successes: number, trials: number, alpha: number): number {
  checkCounts(successes, trials);
  if (successes === 0) return 0;
  return betaQuantile(alpha, successes, trials - successes + 1) * (1 - FLOAT_MARGIN);
}

/**
 * One-sided (1 - alpha) Clopper-Pearson upper confidence bound: BetaQuantile(1 - alpha; k + 1, n - k),
 * and 1 when k = n, moved up by FLOAT_MARGIN.
 */
export function clopperPearsonUpper(successes: number, trials: number, alpha: number): number {
  checkCounts(successes, trials);
  if (successes === trials) return 1;
  return Math.min(1, betaQuantile(1 - alpha, successes + 1, trials - successes) * (1 + FLOAT_MARGIN));
}

/** Phi, the standard normal CDF. */
export function phi(x: number): number {
  return normalCdf(x, 0, 1);
}

/** PhiInv, the standard normal quantile. */
export function phiInverse(p: number): number {
  return normalQuantile(p, 0, 1);
}

/**
 * The certified radius sigma * PhiInv(p) for a lower bound p >= 1/2 on the top class's probability,
 * moved toward zero by FLOAT_MARGIN (it covers PhiInv's and the product's rounding).
 */
export function certifiedRadius(sigma: number, p: number): number {
  return sigma * phiInverse(p) * (1 - FLOAT_MARGIN);
}

/**
 * Two-sided exact binomial test p-value of `successes` out of `trials` at success probability 1/2,
 * as scipy.stats.binomtest (used by Cohen et al.'s PREDICT). Returns 1 when trials = 0.
 */
export function binomialTwoSidedPValue(successes: number, trials: number): number {
  checkCounts(successes, trials);
  if (trials === 0) return 1;
  return binomialTest(successes, trials, { p: 0.5, alternative: 'two-sided' }).pValue;
}

/**
 * The fewest samples k such that, when each of n independent samples differs from its exact-noise
 * twin with probability at most `deviation`, more than k differ with probability at most `level`:
 * the smallest k with P(Bin(n, deviation) > k) <= level (the tail taken 1e-12 larger than computed,
 * against rounding). 0 when deviation is 0.
 */
export function samplerSlack(n: number, deviation: number, level: number): number {
  if (deviation === 0) return 0;
  let k = 0;
  while (k < n && 1 - binomialCdf(k, n, deviation) + 1e-12 > level) k++;
  return k;
}

function checkCounts(successes: number, trials: number): void {
  if (!Number.isInteger(successes) || !Number.isInteger(trials) || successes < 0 || successes > trials) {
    throw new RangeError(`invalid binomial counts: ${successes} successes out of ${trials} trials`);
  }
}
