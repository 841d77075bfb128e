/**
 * The soundness check shared by the image and video soundness tests: a smoothed classifier whose
 * composite base classifier is linear in the input, sign(u . x + b), has the exact certified radius
 * |u . x + b| / ||u|| at x; certificates beyond it are violations, which may happen with probability
 * at most alpha each.
 */
import assert from 'node:assert/strict';
import { GaussianRng } from '../../src/core/rng.js';
import type { SmoothedClassifier } from '../../src/smoothed-classifier.js';

/** Upper end of a one-sided binomial acceptance region: P[X > k] < 1e-4 for X ~ Bin(trials, p). */
export function maxExpectedViolations(trials: number, p: number): number {
  return Math.ceil(trials * p + 4 * Math.sqrt(trials * p * (1 - p)) + 1);
}

export interface LinearTruthCheck {
  /** random inputs 0.5 + 0.15 N(0, 1) per coordinate, drawn from GaussianRng(seed, stream) */
  seed: number;
  stream: number;
  trials: number;
  alpha: number;
  /** the mean of radius / exact radius must exceed it: a certifier far too cautious fails */
  minMeanRatio: number;
}

/**
 * Certifies `trials` random inputs with `g` and checks them against the exact radius of the linear
 * decision sign(u . x + b): at most maxExpectedViolations wrong classes or radii beyond the exact
 * one, more than half certified, and a mean radius ratio above `minMeanRatio`. Returns how many
 * smoothing-space radii exceed the exact input-space radius (what a certifier that ignored the
 * map's norm would violate).
 */
export async function checkAgainstLinearTruth(
  g: SmoothedClassifier,
  u: Float64Array,
  b: number,
  o: LinearTruthCheck,
): Promise<{ unsoundIfIgnored: number }> {
  const uNorm = Math.hypot(...u);
  const rng = new GaussianRng(o.seed, o.stream);
  let violations = 0;
  let unsoundIfIgnored = 0;
  let certified = 0;
  let ratio = 0;
  for (let i = 0; i < o.trials; i++) {
    const x = new Float32Array(u.length).map(() => 0.5 + 0.15 * rng.nextGaussian());
    let d = b;
    for (let j = 0; j < x.length; j++) d += u[j] * x[j];
    const truth = Math.abs(d) / uNorm;
    const c = await g.certify({ pixels: x, index: i });
    if (c.prediction < 0) continue;
    certified++;
    ratio += c.radius / truth;
    if (c.prediction !== (d > 0 ? 1 : 0) || c.radius > truth) violations++;
    if (c.radiusSmoothing > truth) unsoundIfIgnored++;
  }
  assert.ok(
    violations <= maxExpectedViolations(o.trials, o.alpha),
    `${violations} violations in ${o.trials}`,
  );
  assert.ok(certified > o.trials / 2, `only ${certified} of ${o.trials} certified`);
  // tight: dividing by a norm where none is due (e.g. sqrt(3) for correlated noise) would fail this
  assert.ok(
    ratio / certified > o.minMeanRatio,
    `mean radius / exact radius ${(ratio / certified).toFixed(2)}`,
  );
  return { unsoundIfIgnored };
}
