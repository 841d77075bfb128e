/**
 * Soundness of the certificates against classifiers whose exact robust radius is known
 * (README, "Radius space (soundness)"). A sound certifier exceeds the exact radius with probability
 * at most alpha per certificate; each test also checks that the radii are tight, and that a
 * certifier which reported the smoothing-space radius as input-space would fail.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GaussianRng } from '../src/core/rng.js';
import { adaptiveSchedule, certifyVotesAdaptive } from '../src/core/smooth.js';
import { phi, phiInverse } from '../src/core/stats.js';
import { resizeMap } from '../src/reduce/resize.js';
import type { NoiseMode } from '../src/reduce/reducer.js';
import { SmoothedClassifier, defaultSmoothingOptions } from '../src/smoothed-classifier.js';
import { linearClassifier } from './helpers/linear-classifier.js';
import { checkAgainstLinearTruth, maxExpectedViolations } from './helpers/soundness.js';

test('soundness, plain RS: certified radii of a linear classifier stay within the exact radius', async () => {
  const side = 4;
  const rng = new GaussianRng(1, 1);
  const w = new Float32Array(side * side).map(() => rng.nextGaussian());
  const norm = Math.hypot(...w);
  const f = linearClassifier(w, 0.1, side);
  const alpha = 0.01;
  const g = new SmoothedClassifier(f, f.inputShape, {
    ...defaultSmoothingOptions,
    sigma: 0.5,
    n0: 50,
    n: 2000,
    alpha,
    batch: 500,
  });
  let violations = 0;
  let ratio = 0;
  let certified = 0;
  const trials = 100;
  for (let i = 0; i < trials; i++) {
    const x = new Float32Array(side * side).map(() => rng.nextGaussian() * 0.3);
    let z = 0.1;
    for (let j = 0; j < x.length; j++) z += w[j] * x[j];
    const truth = Math.abs(z) / norm;
    const c = await g.certify({ pixels: x, index: i });
    if (c.prediction < 0) continue;
    certified++;
    ratio += c.radius / truth;
    if (c.prediction !== (z > 0 ? 1 : 0) || c.radius > truth) violations++;
  }
  assert.ok(violations <= maxExpectedViolations(trials, alpha), `${violations} violations in ${trials}`);
  assert.ok(certified > trials / 2 && ratio / certified > 0.6, `radii far below the exact radius`);
});

// Smooth-Mean of a linear f on the 4 patches (stride 2) of a 4x4 input resized to 6x6 (bilinear):
// in every noise mode the smoothed classifier is g(x) = [u.(R x) + b > 0] with u = mean_i P_i^T w,
// so the exact input-space radius is |u.(R x) + b| / ||R^T u||. What differs is the space the noise
// lives in and hence the norm the certifier must divide by: ||R|| (correlated), ||T|| (uncorrelated),
// 1 (input).
const modes: { noise: NoiseMode; minMeanRatio: number }[] = [
  { noise: 'correlated', minMeanRatio: 0.5 },
  { noise: 'uncorrelated', minMeanRatio: 0.4 },
  { noise: 'input', minMeanRatio: 0.7 },
];
for (const { noise, minMeanRatio } of modes) {
  test(`soundness, Smooth-Mean with ${noise} noise: input-space radii respect the exact radius`, async () => {
    const side = 4;
    const big = 6;
    const w = new Float32Array(side * side).fill(1);
    const b = -8;
    const f = linearClassifier(w, b, side);
    const alpha = 0.01;
    const g = new SmoothedClassifier(f, f.inputShape, {
      ...defaultSmoothingOptions,
      method: 'mean',
      noise,
      resize: { height: big, width: big },
      stride: 2,
      sigma: 0.25,
      n0: 50,
      n: 4000,
      alpha,
      batch: 500,
    });
    const tops = [0, 2];
    const u = new Float64Array(big * big);
    for (const top of tops)
      for (const left of tops)
        for (let i = 0; i < side; i++)
          for (let j = 0; j < side; j++) u[(top + i) * big + left + j] += w[i * side + j] / 4;
    const rtu = new Float64Array(side * side);
    resizeMap(1, side, side, big, big, 'bilinear').mulTransposed(u, rtu);
    const trials = 80;
    const { unsoundIfIgnored } = await checkAgainstLinearTruth(g, rtu, b, {
      seed: 5,
      stream: 5,
      trials,
      alpha,
      minMeanRatio,
    });
    if (noise === 'input') assert.equal(g.reducer.fixedNoiseScale, 1);
    else
      assert.ok(
        unsoundIfIgnored > trials / 4,
        `a certifier ignoring the ${noise} map's norm would violate only ${unsoundIfIgnored} times`,
      );
  });
}

// The translation variant (--pad 1, stride 2): Smooth-Mean of the same linear f on the 4 patches
// of the 4x4 input zero-padded to 6x6. The smoothed classifier is g(x) = [u.(Pad x) + b > 0] with
// u = mean_i P_i^T w on the canvas, so the exact input-space radius is |u.(Pad x) + b| / ||Pad^T u||;
// Pad^T u is computed here from the coordinates alone (canvas pixel (y, x) holds input pixel
// (y - 1, x - 1), zero outside). The canvas noise also falls on the zero border, where u is not
// zero, so correlated radii are sound but below the exact ones; uncorrelated noise divides by
// sqrt(max patches per input pixel) = 2.
const padModes: { noise: NoiseMode; minMeanRatio: number }[] = [
  { noise: 'correlated', minMeanRatio: 0.65 },
  { noise: 'uncorrelated', minMeanRatio: 0.45 },
  { noise: 'input', minMeanRatio: 0.8 },
];
for (const { noise, minMeanRatio } of padModes) {
  test(`soundness, Smooth-Mean of translations (--pad) with ${noise} noise: input-space radii respect the exact radius`, async () => {
    const side = 4;
    const pad = 1;
    const big = side + 2 * pad;
    const w = new Float32Array(side * side).map((_, i) => 1 + (i % 3) / 2);
    const b = -6;
    const f = linearClassifier(w, b, side);
    const alpha = 0.01;
    const g = new SmoothedClassifier(f, f.inputShape, {
      ...defaultSmoothingOptions,
      method: 'mean',
      noise,
      pad,
      stride: 2,
      sigma: 0.25,
      n0: 50,
      n: 4000,
      alpha,
      batch: 500,
    });
    assert.equal(g.reducer.geometry.copies, 4);
    const tops = [0, 2];
    const u = new Float64Array(big * big);
    for (const top of tops)
      for (const left of tops)
        for (let i = 0; i < side; i++)
          for (let j = 0; j < side; j++) u[(top + i) * big + left + j] += w[i * side + j] / 4;
    const padTu = new Float64Array(side * side);
    for (let y = 0; y < side; y++)
      for (let x = 0; x < side; x++) padTu[y * side + x] = u[(y + pad) * big + x + pad];
    const trials = 80;
    const { unsoundIfIgnored } = await checkAgainstLinearTruth(g, padTu, b, {
      seed: 6,
      stream: 6,
      trials,
      alpha,
      minMeanRatio,
    });
    if (noise === 'uncorrelated') {
      assert.equal(g.reducer.fixedNoiseScale! >= 2 && g.reducer.fixedNoiseScale! <= 2 * (1 + 1e-9), true);
      assert.ok(
        unsoundIfIgnored > trials / 4,
        `a certifier ignoring the stacked patches' norm would violate only ${unsoundIfIgnored} times`,
      );
    } else assert.equal(g.reducer.fixedNoiseScale, 1);
  });
}

/** Votes of a base classifier whose true top-class probability is exactly pA (two classes). */
function bernoulliVotes(pA: number, rng: GaussianRng) {
  return async (num: number) => {
    const counts = new Uint32Array(2);
    for (let i = 0; i < num; i++) counts[rng.nextUniform() < pA ? 0 : 1]++;
    return counts;
  };
}

test('adaptive certification keeps alpha through the union bound: a target just above pA is rarely certified', async () => {
  // True pA = 0.9, sigma = 1: the exact radius is PhiInv(0.9). The radius to decide needs
  // pA + 1e-4, so every certificate of it is a violation, and each of the K looks is a chance to
  // make one: tested at alpha / K each they stay below alpha in total; tested at alpha each (no
  // union bound) they do not.
  const pA = 0.9;
  const truth = phiInverse(pA);
  const alpha = 0.05;
  const looks = 5;
  const params = { sigma: 1, n0: 20, n: 4000, alpha, looks, radius: phiInverse(pA + 1e-4) };
  const trials = 1200;
  let violations = 0;
  let withoutUnionBound = 0;
  for (let t = 0; t < trials; t++) {
    const a = await certifyVotesAdaptive(bernoulliVotes(pA, new GaussianRng(11, t)), params);
    if (a.radius > truth) violations++;
    const b = await certifyVotesAdaptive(bernoulliVotes(pA, new GaussianRng(11, t)), {
      ...params,
      alpha: alpha * looks,
    });
    if (b.radius > truth) withoutUnionBound++;
  }
  const bound = maxExpectedViolations(trials, alpha);
  assert.ok(violations <= bound, `adaptive: ${violations} violations in ${trials} (at most ${bound})`);
  assert.ok(
    withoutUnionBound > bound,
    `without the union bound only ${withoutUnionBound} violations: the test cannot tell the difference`,
  );
});

test('adaptive certification saves samples when the radius is decided early, and matches CERTIFY otherwise', async () => {
  const params = { sigma: 1, n0: 20, n: 16000, alpha: 0.001, looks: 5 };
  assert.deepEqual(adaptiveSchedule(16000, 5), [1000, 2000, 4000, 8000, 16000]);
  assert.deepEqual(adaptiveSchedule(3, 5), [1, 2, 3]);
  // pA = 0.99 vs a radius needing 0.8: decided at the first look.
  const easy = await certifyVotesAdaptive(bernoulliVotes(0.99, new GaussianRng(3, 0)), {
    ...params,
    radius: phiInverse(0.8),
  });
  assert.equal(easy.samples, 1000);
  assert.ok(easy.radius >= phiInverse(0.8));
  // pA = 0.6 vs a radius needing 0.95: decided "no" at the first look too; the radius returned is
  // still a valid (smaller) certificate or an abstention.
  const hopeless = await certifyVotesAdaptive(bernoulliVotes(0.6, new GaussianRng(3, 1)), {
    ...params,
    radius: phiInverse(0.95),
  });
  assert.equal(hopeless.samples, 1000);
  assert.ok(hopeless.radius < phiInverse(0.6));
  // pA close to the target: needs every look, and reports the bound at alpha / looks.
  const close = await certifyVotesAdaptive(bernoulliVotes(0.8, new GaussianRng(3, 2)), {
    ...params,
    radius: phiInverse(0.8),
  });
  assert.equal(close.samples, 16000);
  assert.ok(phi(close.radius) < 0.8 + 0.02);
});
