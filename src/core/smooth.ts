/**
 * CERTIFY and PREDICT of randomized smoothing (Cohen, Rosenfeld, Kolter, "Certified Adversarial
 * Robustness via Randomized Smoothing", ICML 2019, Section 3.2 and Pseudocode), written against an
 * abstract vote source so that plain RS, Smooth-Max, Smooth-Mean and video sub-clips (Joshi et al.,
 * "Smooth-Reduce", arXiv 2205.06154) differ only in where the votes come from.
 *
 * Everything here is in the smoothing space, the space where the Gaussian noise is added; the
 * caller maps the radius back to the input space (see ../smoothed-classifier.ts and the README,
 * "Radius space (soundness)"). Parameters are checked against the schemas of ./params.ts.
 */
import type { z } from 'zod';
import { adaptiveParamsSchema, certifyParamsSchema, parseOptions, predictParamsSchema } from './params.js';
import {
  binomialTwoSidedPValue,
  certifiedRadius,
  clopperPearsonLower,
  clopperPearsonUpper,
  phi,
} from './stats.js';

/** Draws `num` fresh noisy samples N(0, sigma^2 I) around the input and returns per-class vote counts. */
export type VoteSource = (num: number) => Promise<Uint32Array>;

export const ABSTAIN = -1;

/** CERTIFY's parameters (smoothing space): sigma, n0, n, alpha and the deduction (see certifyParamsSchema). */
export type CertifyParams = z.input<typeof certifyParamsSchema>;

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
export async function certifyVotes(votes: VoteSource, params: CertifyParams): Promise<Certificate> {
  const p = parseOptions(certifyParamsSchema, params);
  const selection = await votes(p.n0);
  const cA = argmax(selection);
  const counts = await votes(p.n);
  const nA = counts[cA];
  const pALower = Math.max(0, clopperPearsonLower(nA, p.n, p.alpha) - p.deduction);
  if (pALower < 0.5) return { prediction: ABSTAIN, radius: 0, pALower, cA, nA, counts, samples: p.n };
  return { prediction: cA, radius: certifiedRadius(p.sigma, pALower), pALower, cA, nA, counts, samples: p.n };
}

/** Adaptive CERTIFY's parameters: CERTIFY's, the radius (smoothing space) that decides when to stop, the looks K. */
export type AdaptiveParams = z.input<typeof adaptiveParamsSchema>;

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
export async function certifyVotesAdaptive(votes: VoteSource, params: AdaptiveParams): Promise<Certificate> {
  const p = parseOptions(adaptiveParamsSchema, params);
  const cA = argmax(await votes(p.n0));
  const target = phi(p.radius / p.sigma);
  const alphaLook = p.alpha / p.looks;
  const charge = p.deduction;
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
export async function predictVotes(
  votes: VoteSource,
  params: z.input<typeof predictParamsSchema>,
): Promise<Prediction> {
  const p = parseOptions(predictParamsSchema, params);
  const counts = await votes(p.n);
  const [cA, cB] = topTwo(counts);
  const pValue = binomialTwoSidedPValue(counts[cA], counts[cA] + counts[cB]);
  return { prediction: pValue > p.alpha ? ABSTAIN : cA, pValue, counts };
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
