/**
 * CERTIFY and PREDICT of randomized smoothing (Cohen, Rosenfeld, Kolter, "Certified Adversarial
 * Robustness via Randomized Smoothing", ICML 2019, Section 3.2 and Pseudocode), written against an
 * abstract vote source so that plain RS, Smooth-Max, Smooth-Mean and video sub-clips (Joshi et al.,
 * "Smooth-Reduce", arXiv 2205.06154) differ only in where the votes come from.
 *
 * Everything here is in the smoothing space, the space where the Gaussian noise is added; the
 * caller maps the radius back to the input space (see ../api.ts and the spec, section 3).
 */
import {
  binomialTwoSidedPValue,
  certifiedRadius,
  clopperPearsonLower,
  clopperPearsonUpper,
  phi,
  phiInverse,
} from './stats.js';

/** Draws `num` fresh noisy samples N(0, sigma^2 I) around the input and returns per-class vote counts. */
export type VoteSource = (num: number) => Promise<Uint32Array>;

export const ABSTAIN = -1;

export interface CertifyParams {
  /** noise level sigma of the smoothing distribution (smoothing space) */
  sigma: number;
  /** samples used to select the top class */
  n0: number;
  /** samples used to estimate its probability */
  n: number;
  /** failure probability of the certificate */
  alpha: number;
  /**
   * probability subtracted from pA's lower bound: a bound on the total-variation distance between
   * one noisy sample as drawn and as exact Gaussian noise would give it (see samplerDeviation in
   * ./rng.ts); 0 for an ideal vote source
   */
  deduction?: number;
}

export interface Certificate {
  /** the smoothed classifier's class, or ABSTAIN (-1) */
  prediction: number;
  /** L2 radius in the smoothing space, 0 on abstain */
  radius: number;
  /** one-sided (1 - alpha) Clopper-Pearson lower bound on P[f(x + e) = cA] */
  pALower: number;
  /** the class chosen on the selection samples (reported even on abstain) */
  cA: number;
  /** votes for cA among the n estimation samples */
  nA: number;
  /** estimation-sample vote counts per class */
  counts: Uint32Array;
  /** estimation samples drawn (n, or fewer when adaptive certification stopped early) */
  samples: number;
}

export interface Prediction {
  prediction: number;
  /** two-sided binomial test p-value of nA against nB at p = 1/2 */
  pValue: number;
  counts: Uint32Array;
}

/**
 * CERTIFY(f, sigma, x, n0, n, alpha):
 * select cA on n0 samples, count its votes nA on n fresh samples,
 * pA = LowerConfBound(nA, n, 1 - alpha); pA < 1/2 -> ABSTAIN, else (cA, sigma * PhiInv(pA)).
 */
export async function certify(votes: VoteSource, p: CertifyParams): Promise<Certificate> {
  checkParams(p.sigma, p.n, p.alpha);
  if (!Number.isInteger(p.n0) || p.n0 < 1) throw new RangeError(`n0 must be a positive integer, got ${p.n0}`);
  const selection = await votes(p.n0);
  const cA = argmax(selection);
  const counts = await votes(p.n);
  const nA = counts[cA];
  const pALower = Math.max(0, clopperPearsonLower(nA, p.n, p.alpha) - deduction(p));
  if (pALower < 0.5) return { prediction: ABSTAIN, radius: 0, pALower, cA, nA, counts, samples: p.n };
  return { prediction: cA, radius: certifiedRadius(p.sigma, pALower), pALower, cA, nA, counts, samples: p.n };
}

function deduction(p: CertifyParams): number {
  const d = p.deduction ?? 0;
  if (!(d >= 0 && d < 1)) throw new RangeError(`deduction must be in [0, 1), got ${d}`);
  return d;
}

export interface AdaptiveParams extends CertifyParams {
  /** the radius (smoothing space) whose certificate decides when to stop */
  radius: number;
  /** number of looks K: sample counts n / 2^(K-1), ..., n / 2, n */
  looks: number;
}

/**
 * Adaptive CERTIFY: the same certificate as CERTIFY, but sampling stops as soon as the question
 * "is cA certified at `radius`?" is decided, in the spirit of Horvath et al.'s adaptive sampling
 * (ICLR 2022). Estimation samples accumulate over K looks at n_k = n / 2^(K-k); at each look the
 * Clopper-Pearson bounds are taken at alpha / K, so by the union bound all K lower bounds hold at
 * once with probability >= 1 - alpha and any certificate returned is sound at level alpha:
 *
 *   select cA on n0 samples
 *   for k = 1..K: draw up to n_k samples; nA = votes for cA
 *     pA_lo = LowerConfBound(nA, n_k, 1 - alpha/K), pA_hi = UpperConfBound(nA, n_k, 1 - alpha/K)
 *     if pA_lo >= Phi(radius / sigma) and pA_lo >= 1/2: return (cA, sigma PhiInv(pA_lo))  (decided: yes)
 *     if pA_hi <  Phi(radius / sigma) or k = K: stop                                   (decided: no)
 *   return (cA, sigma PhiInv(pA_lo)) if pA_lo >= 1/2, else ABSTAIN
 */
export async function certifyAdaptive(votes: VoteSource, p: AdaptiveParams): Promise<Certificate> {
  checkParams(p.sigma, p.n, p.alpha);
  if (!Number.isInteger(p.n0) || p.n0 < 1) throw new RangeError(`n0 must be a positive integer, got ${p.n0}`);
  if (!Number.isInteger(p.looks) || p.looks < 1)
    throw new RangeError(`looks must be a positive integer, got ${p.looks}`);
  if (!(p.radius >= 0) || !Number.isFinite(p.radius))
    throw new RangeError(`radius must be >= 0, got ${p.radius}`);
  const cA = argmax(await votes(p.n0));
  const target = phi(p.radius / p.sigma);
  const alphaLook = p.alpha / p.looks;
  const charge = deduction(p);
  let total = new Uint32Array(0);
  let drawn = 0;
  let pALower = 0;
  for (const nk of adaptiveSchedule(p.n, p.looks)) {
    const fresh = await votes(nk - drawn);
    if (total.length === 0) total = new Uint32Array(fresh.length);
    for (let c = 0; c < fresh.length; c++) total[c] += fresh[c];
    drawn = nk;
    const nA = total[cA];
    pALower = Math.max(0, clopperPearsonLower(nA, drawn, alphaLook) - charge);
    if (pALower >= target && pALower >= 0.5) break;
    if (clopperPearsonUpper(nA, drawn, alphaLook) + charge < target) break;
  }
  const nA = total[cA];
  if (pALower < 0.5)
    return { prediction: ABSTAIN, radius: 0, pALower, cA, nA, counts: total, samples: drawn };
  return {
    prediction: cA,
    radius: certifiedRadius(p.sigma, pALower),
    pALower,
    cA,
    nA,
    counts: total,
    samples: drawn,
  };
}

/** Cumulative sample counts of the K looks: ceil(n / 2^(K-k)) for k = 1..K, strictly increasing, ending at n. */
export function adaptiveSchedule(n: number, looks: number): number[] {
  const out: number[] = [];
  for (let k = 1; k <= looks; k++) {
    const nk = Math.ceil(n / 2 ** (looks - k));
    if (nk > (out.at(-1) ?? 0)) out.push(nk);
  }
  return out;
}

/**
 * PREDICT(f, sigma, x, n, alpha):
 * top two counts nA >= nB on n samples; if BinomPValue(nA, nA + nB, 1/2) > alpha ABSTAIN, else cA.
 */
export async function predict(votes: VoteSource, p: { n: number; alpha: number }): Promise<Prediction> {
  checkParams(1, p.n, p.alpha);
  const counts = await votes(p.n);
  const [cA, cB] = topTwo(counts);
  const pValue = binomialTwoSidedPValue(counts[cA], counts[cA] + counts[cB]);
  return { prediction: pValue > p.alpha ? ABSTAIN : cA, pValue, counts };
}

/** Largest certifiable radius with n samples (all votes for cA), in units of sigma. */
export function maxRadiusInSigmas(n: number, alpha: number): number {
  return phiInverse(clopperPearsonLower(n, n, alpha));
}

/** Index of the largest count; ties go to the lowest index (as numpy's argmax). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

function topTwo(counts: Uint32Array): [number, number] {
  const a = argmax(counts);
  let b = a === 0 ? 1 : 0;
  for (let i = 0; i < counts.length; i++) if (i !== a && counts[i] > counts[b]) b = i;
  return [a, b];
}

function checkParams(sigma: number, n: number, alpha: number): void {
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new RangeError(`sigma must be > 0, got ${sigma}`);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
}
