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
import {
  adaptiveParamsSchema,
  certifyParamsSchema,
  inputSpecificParamsSchema,
  parseOptions,
  predictParamsSchema,
} from './params.js';
import {
  binomialTwoSidedPValue,
  samplerSlack,
  certifiedRadius,
  clopperPearsonLower,
  clopperPearsonUpper,
  phiInverse,
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
  const [certificate] = await certifyVotesEach(async (num) => [await votes(num)], params);
  return certificate;
}

/** Draws `num` fresh noisy samples and returns the per-class vote counts of several base classifiers on them. */
export type VoteSources = (num: number) => Promise<Uint32Array[]>;

/**
 * CERTIFY for several base classifiers h_1..h_m fed the same noisy samples (Smooth-Max and
 * Smooth-Mean of the same patch outputs, say): for each h_j, cA_j is selected on the n0 samples and
 * counted on the n others, exactly as CERTIFY does for h_j alone, so each certificate is the one
 * CERTIFY(h_j) gives on these samples and holds with probability >= 1 - alpha on its own. (Shared
 * noise correlates the certificates with one another, which makes paired comparisons sharper; it
 * does not make the union of m claims hold at 1 - alpha.)
 */
export async function certifyVotesEach(votes: VoteSources, params: CertifyParams): Promise<Certificate[]> {
  const p = parseOptions(certifyParamsSchema, params);
  const selections = await votes(p.n0);
  const counts = await votes(p.n);
  return selections.map((selection, j) => {
    const cA = argmax(selection);
    const pALower = Math.max(0, clopperPearsonLower(counts[j][cA], p.n, p.alpha) - p.deduction);
    return conclude(p.sigma, cA, pALower, counts[j], p.n);
  });
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
  return conclude(p.sigma, cA, pALower, total, drawn);
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

/** Input-specific CERTIFY's parameters: CERTIFY's and the tolerated relative radius loss `loss` (0.02: 2 %). */
export type InputSpecificParams = z.input<typeof inputSpecificParamsSchema>;

/**
 * CERTIFY with an input-specific sample size (after Chen et al., "Input-Specific Robustness
 * Certification for Randomized Smoothing", AAAI 2022): the n0 selection samples also estimate pA,
 * and only as many of the n estimation samples are drawn as keep the expected radius within
 * `loss` of what all n would give (see InputSpecificPlan). The estimation samples are fresh: the
 * class cA and the sample size N are functions of the selection samples alone, so conditional on
 * them nA ~ Binomial(N, pA) and the Clopper-Pearson bound at the full alpha is exact, with no
 * union bound and no correction for the choice of N. (Chen et al.'s code adds the selection
 * samples to the estimate, which makes N and cA depend on the counted votes; this does not.)
 * When even the most favourable pA the selection samples allow could not be certified with n
 * samples, it abstains without drawing any (samples = 0).
 */
export async function certifyVotesInputSpecific(
  votes: VoteSource,
  params: InputSpecificParams,
  plan?: InputSpecificPlan,
): Promise<Certificate> {
  const p = parseOptions(inputSpecificParamsSchema, params);
  const sizes = plan ?? InputSpecificPlan.for(p.n, p.alpha, p.loss);
  const selection = await votes(p.n0);
  const cA = argmax(selection);
  const size = sizes.sampleSize(selection[cA], p.n0);
  if (size === 0) {
    return {
      prediction: ABSTAIN,
      radius: 0,
      pALower: 0,
      cA,
      nA: 0,
      counts: new Uint32Array(selection.length),
      samples: 0,
    };
  }
  const counts = await votes(size);
  const pALower = Math.max(0, clopperPearsonLower(counts[cA], size, p.alpha) - p.deduction);
  return conclude(p.sigma, cA, pALower, counts, size);
}

/**
 * The sample-size table of input-specific certification. For pA on a grid of 0.5 to 1 in steps of
 * 0.001, N(pA) is the smallest multiple of n/100 whose expected radius, sigma PhiInv(CP lower bound
 * of round(pA N) out of N), is at least (1 - loss) times that of n samples (0 where n samples would
 * not certify pA either; sigma cancels out of the ratio). An input gets the largest N(p) over the
 * two-sided (1 - alpha) Clopper-Pearson interval of pA from its selection samples, so that an
 * unlucky selection draw costs samples, not radius.
 */
export class InputSpecificPlan {
  private static readonly cache = new Map<string, InputSpecificPlan>();
  static readonly GRID = 500;
  /** N(0.5 + i / 1000) for i = 0..500 */
  readonly table: Uint32Array;

  private constructor(
    readonly n: number,
    readonly alpha: number,
    readonly loss: number,
  ) {
    if (!(loss >= 0 && loss < 1)) throw new RangeError(`loss must be in [0, 1), got ${loss}`);
    const step = Math.max(1, Math.round(n / 100));
    const sizes = Math.ceil(n / step);
    const sizeAt = (j: number) => Math.min(n, j * step);
    const radius = (pA: number, m: number) => {
      const lower = clopperPearsonLower(Math.round(pA * m), m, alpha);
      return lower <= 0.5 ? 0 : phiInverse(lower);
    };
    this.table = new Uint32Array(InputSpecificPlan.GRID + 1);
    for (let i = 0; i <= InputSpecificPlan.GRID; i++) {
      const pA = 0.5 + i / (2 * InputSpecificPlan.GRID);
      const full = radius(pA, n);
      if (full <= 0) continue;
      const target = (1 - loss) * full;
      let lo = 1;
      let hi = sizes;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (radius(pA, sizeAt(mid)) >= target) hi = mid;
        else lo = mid + 1;
      }
      this.table[i] = sizeAt(lo);
    }
  }

  /** The plan for n samples, alpha and loss (built once, cached). */
  static for(n: number, alpha: number, loss: number): InputSpecificPlan {
    const key = `${n}/${alpha}/${loss}`;
    let plan = InputSpecificPlan.cache.get(key);
    if (!plan) InputSpecificPlan.cache.set(key, (plan = new InputSpecificPlan(n, alpha, loss)));
    return plan;
  }

  /** Estimation samples for an input whose selected class got `nA0` of `n0` selection votes. */
  sampleSize(nA0: number, n0: number): number {
    const lo = clopperPearsonLower(nA0, n0, this.alpha / 2);
    const hi = clopperPearsonUpper(nA0, n0, this.alpha / 2);
    if (hi < 0.5) return 0;
    const index = (pA: number) => (pA - 0.5) * 2 * InputSpecificPlan.GRID;
    const first = Math.max(0, Math.floor(index(lo)));
    const last = Math.min(InputSpecificPlan.GRID, Math.ceil(index(hi)));
    let size = 0;
    for (let i = first; i <= last; i++) size = Math.max(size, this.table[i]);
    return size;
  }
}

/** The part of PREDICT's alpha spent on the sampler's deviation, when it has one. */
export const SAMPLER_ALPHA_SHARE = 0.01;

/**
 * PREDICT(f, sigma, x, n, alpha):
 * top two counts nA >= nB on n samples; if BinomPValue(nA, nA + nB, 1/2) > alpha ABSTAIN, else cA.
 *
 * With a sampler that deviates from exact Gaussian noise by at most `deduction` per sample (total
 * variation), couple each drawn sample with an exact one: they differ with probability at most
 * `deduction`, so with probability at least 1 - alpha * SAMPLER_ALPHA_SHARE at most k =
 * samplerSlack(...) of the n differ. Then the exact counts have nA' >= nA - k and every other class
 * at most nB + k, and the binomial p-value only grows as the counts move toward a tie: testing
 * (nA - k, nB + k) at alpha (1 - SAMPLER_ALPHA_SHARE) returns a class other than the exact-noise
 * smoothed classifier's with probability at most alpha (Cohen et al.'s Proposition 1 plus the union
 * bound). With deduction 0 this is Cohen et al.'s PREDICT exactly.
 */
export async function predictVotes(
  votes: VoteSource,
  params: z.input<typeof predictParamsSchema>,
): Promise<Prediction> {
  const p = parseOptions(predictParamsSchema, params);
  const counts = await votes(p.n);
  const [cA, cB] = topTwo(counts);
  const share = p.deduction > 0 ? SAMPLER_ALPHA_SHARE : 0;
  const k = samplerSlack(p.n, p.deduction, p.alpha * share);
  const nA = counts[cA];
  const trials = nA + counts[cB];
  // nA - k <= nB + k: a tie or worse after the charge, never significant
  const pValue = 2 * (nA - k) <= trials ? 1 : binomialTwoSidedPValue(nA - k, trials);
  return { prediction: pValue > p.alpha * (1 - share) ? ABSTAIN : cA, pValue, counts };
}

/** CERTIFY's last step: abstain when pA's lower bound is below 1/2, else cA at sigma * PhiInv(pALower). */
function conclude(
  sigma: number,
  cA: number,
  pALower: number,
  counts: Uint32Array,
  samples: number,
): Certificate {
  const nA = counts[cA];
  if (pALower < 0.5) return { prediction: ABSTAIN, radius: 0, pALower, cA, nA, counts, samples };
  return { prediction: cA, radius: certifiedRadius(sigma, pALower), pALower, cA, nA, counts, samples };
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
