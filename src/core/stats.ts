/**
 * The three statistical primitives of randomized smoothing (Cohen, Rosenfeld, Kolter, ICML 2019),
 * delegated to @stdlib so that their numerics are a well-kept library's, not ours.
 */
import betaQuantile from '@stdlib/stats-base-dists-beta-quantile';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import binomialTest from '@stdlib/stats-binomial-test';

/**
 * One-sided (1 - alpha) Clopper-Pearson lower confidence bound on a binomial proportion after
 * `successes` out of `trials`: BetaQuantile(alpha; k, n - k + 1), and 0 when k = 0.
 * Cohen et al. compute it as the lower end of a two-sided 1 - 2 alpha interval, which is the same.
 */
export function clopperPearsonLower(successes: number, trials: number, alpha: number): number {
  checkCounts(successes, trials);
  if (successes === 0) return 0;
  return betaQuantile(alpha, successes, trials - successes + 1);
}

/**
 * One-sided (1 - alpha) Clopper-Pearson upper confidence bound: BetaQuantile(1 - alpha; k + 1, n - k),
 * and 1 when k = n.
 */
export function clopperPearsonUpper(successes: number, trials: number, alpha: number): number {
  checkCounts(successes, trials);
  if (successes === trials) return 1;
  return betaQuantile(1 - alpha, successes + 1, trials - successes);
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
 * Two-sided exact binomial test p-value of `successes` out of `trials` at success probability 1/2,
 * as scipy.stats.binomtest (used by Cohen et al.'s PREDICT). Returns 1 when trials = 0.
 */
export function binomialTwoSidedPValue(successes: number, trials: number): number {
  checkCounts(successes, trials);
  if (trials === 0) return 1;
  return binomialTest(successes, trials, { p: 0.5, alternative: 'two-sided' }).pValue;
}

function checkCounts(successes: number, trials: number): void {
  if (!Number.isInteger(successes) || !Number.isInteger(trials) || successes < 0 || successes > trials) {
    throw new RangeError(`invalid binomial counts: ${successes} successes out of ${trials} trials`);
  }
}
