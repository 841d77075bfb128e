/**
 * The standard evaluation of a smoothed classifier (Cohen et al. 2019, `code/analyze.py`), as pure
 * functions of the per-input outcomes of one run. "Approximate certified accuracy at r" is the
 * fraction of inputs whose prediction is correct and certified at radius >= r. A null result means
 * "not defined": no inputs, or a radius asked of a PREDICT log (which certifies no radius).
 */
import {
  clopperPearsonInterval,
  pairedBootstrap,
  type BootstrapOptions,
  type Interval,
} from './statistics.js';

/** One input's result, in the radius space chosen by the caller. */
export interface Outcome {
  idx: number;
  label: number;
  /** predicted class, -1 on abstain */
  predict: number;
  correct: boolean;
  /** certified radius (0 on abstain); null when the run certified none (PREDICT) */
  radius: number | null;
  /** seconds spent on the input */
  time: number;
  /** estimation samples drawn (the log's `n` column; fewer than asked under adaptive certification), if logged */
  samples?: number | null;
  /** every estimation sample voted for the prediction (count_A = n), if logged */
  unanimous?: boolean;
}

export interface RunSummary {
  /** inputs in the run */
  count: number;
  /** accuracy of the smoothed classifier (abstentions count as wrong) = certified accuracy at 0 */
  cleanAccuracy: number | null;
  /** fraction of inputs on which the smoothed classifier abstained */
  abstentionRate: number | null;
  /** average certified radius: mean over all inputs of radius * correct */
  acr: number | null;
  /**
   * percentile bootstrap interval of the ACR (inputs resampled with replacement), when a
   * confidence level was asked; null where the ACR is
   */
  acrInterval?: Interval | null;
  /** mean seconds per input */
  meanTime: number | null;
  /** mean estimation samples per input, when the log records them */
  meanSamples: number | null;
  /**
   * approximate certified accuracy at each requested radius, in the order asked, with its
   * Clopper-Pearson interval when a confidence level was asked (null where the accuracy is)
   */
  certifiedAccuracy: { radius: number; accuracy: number | null; interval?: Interval | null }[];
}

/** Fraction of inputs with correct = 1 and radius >= r. At r = 0 this is the clean accuracy. */
export function certifiedAccuracy(outcomes: readonly Outcome[], r: number): number | null {
  if (!(r >= 0)) throw new RangeError(`radius must be a number >= 0, got ${r}`);
  if (outcomes.length === 0) return null;
  let hits = 0;
  for (const o of outcomes) {
    if (!o.correct) continue;
    if (o.radius === null) {
      if (r > 0) return null;
      hits++;
    } else if (o.radius >= r) {
      hits++;
    }
  }
  return hits / outcomes.length;
}

/** Clean accuracy of the smoothed classifier: correct predictions (abstentions are not). */
export function cleanAccuracy(outcomes: readonly Outcome[]): number | null {
  return certifiedAccuracy(outcomes, 0);
}

/** Average certified radius: mean over all inputs of radius * correct (abstentions add 0). */
export function averageCertifiedRadius(outcomes: readonly Outcome[]): number | null {
  if (outcomes.length === 0) return null;
  let sum = 0;
  for (const o of outcomes) {
    if (o.radius === null) return null;
    if (o.correct) sum += o.radius;
  }
  return sum / outcomes.length;
}

/** Fraction of inputs with predict = -1. */
export function abstentionRate(outcomes: readonly Outcome[]): number | null {
  if (outcomes.length === 0) return null;
  return outcomes.filter((o) => o.predict === -1).length / outcomes.length;
}

/** Mean seconds per input. */
export function meanTime(outcomes: readonly Outcome[]): number | null {
  if (outcomes.length === 0) return null;
  return outcomes.reduce((s, o) => s + o.time, 0) / outcomes.length;
}

/** Mean estimation samples per input; null unless every outcome records them. */
export function meanSamples(outcomes: readonly Outcome[]): number | null {
  if (outcomes.length === 0 || outcomes.some((o) => o.samples == null)) return null;
  return outcomes.reduce((s, o) => s + (o.samples ?? 0), 0) / outcomes.length;
}

/**
 * The summary of one run at the given radii. With `confidence` (e.g. 0.95), each certified accuracy
 * also gets its two-sided Clopper-Pearson interval (the inputs of the run being the trials) and the
 * ACR its percentile bootstrap interval (`bootstrap`: resamples and seed, default 10,000 and 1).
 */
export function summarize(
  outcomes: readonly Outcome[],
  radii: readonly number[],
  confidence?: number,
  bootstrap: Omit<BootstrapOptions, 'confidence'> = {},
): RunSummary {
  const withInterval = (radius: number) => {
    const accuracy = certifiedAccuracy(outcomes, radius);
    if (confidence === undefined) return { radius, accuracy };
    const n = outcomes.length;
    const interval =
      accuracy === null ? null : clopperPearsonInterval(Math.round(accuracy * n), n, confidence);
    return { radius, accuracy, interval };
  };
  const acr = averageCertifiedRadius(outcomes);
  const acrInterval = () =>
    acr === null
      ? null
      : pairedBootstrap([outcomes.map((o) => (o.correct ? (o.radius as number) : 0))], {
          ...bootstrap,
          confidence,
        })[0];
  return {
    count: outcomes.length,
    cleanAccuracy: cleanAccuracy(outcomes),
    abstentionRate: abstentionRate(outcomes),
    acr,
    ...(confidence === undefined ? {} : { acrInterval: acrInterval() }),
    meanTime: meanTime(outcomes),
    meanSamples: meanSamples(outcomes),
    certifiedAccuracy: radii.map(withInterval),
  };
}

/** Largest certified radius of a correct prediction, 0 if none (or a PREDICT run). */
export function largestCertifiedRadius(outcomes: readonly Outcome[]): number {
  let max = 0;
  for (const o of outcomes) if (o.correct && o.radius !== null && o.radius > max) max = o.radius;
  return max;
}

/**
 * The sample-size cap of a run: the radius it certifies where every one of the n estimation samples
 * voted for the prediction, the largest any input can get with that n (sigma times the normal
 * quantile of alpha^(1/n); in input space divided by the reducer's norm). The smallest such radius,
 * since the float32 centre's deduction differs slightly from input to input; Infinity when no input
 * was unanimous (or the log does not say).
 */
export function sampleCap(outcomes: readonly Outcome[]): number {
  let cap = Infinity;
  for (const o of outcomes)
    if (o.unanimous && o.radius !== null && o.radius > 0) cap = Math.min(cap, o.radius);
  return cap;
}

/**
 * The outcomes with every radius above `cap` lowered to it: two runs whose caps differ (RS and
 * Smooth-Reduce in input space, or different n) compared without the part of the difference that
 * the caps alone decide.
 */
export function clipRadii(outcomes: readonly Outcome[], cap: number): Outcome[] {
  return outcomes.map((o) => (o.radius !== null && o.radius > cap ? { ...o, radius: cap } : o));
}

/**
 * The certified-accuracy curve r -> certifiedAccuracy(r) as the corners of a step function for
 * "step-after" drawing: the value at each point holds until the next point. The curve is
 * left-continuous (an input certified at exactly rho still counts at rho and drops out just after
 * it), so a point (rho, a) gives the value just after rho. It runs from 0 to `maxRadius`, inclusive.
 * Empty for a run with no inputs or no radii.
 */
export function certifiedAccuracyCurve(
  outcomes: readonly Outcome[],
  maxRadius: number,
): { radius: number; accuracy: number }[] {
  if (outcomes.length === 0 || outcomes.some((o) => o.radius === null)) return [];
  const n = outcomes.length;
  const radii = outcomes
    .filter((o) => o.correct)
    .map((o) => o.radius as number)
    .sort((a, b) => a - b);
  const points = [{ radius: 0, accuracy: radii.length / n }];
  let i = 0;
  while (i < radii.length) {
    const rho = radii[i];
    let j = i;
    while (j < radii.length && radii[j] === rho) j++;
    if (rho >= maxRadius) break;
    points.push({ radius: rho, accuracy: (radii.length - j) / n });
    i = j;
  }
  // value at maxRadius itself (inputs certified at exactly maxRadius still count there)
  points.push({ radius: maxRadius, accuracy: certifiedAccuracy(outcomes, maxRadius) as number });
  return points;
}
