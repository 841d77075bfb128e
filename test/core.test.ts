import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clopperPearsonLower, phiInverse, binomialTwoSidedPValue } from '../src/core/stats.js';
import { GaussianRng } from '../src/core/rng.js';
import { operatorNorm } from '../src/reduce/operator-norm.js';
import { resizeMap } from '../src/reduce/resize.js';
import { SmoothedClassifier, defaultSmoothingOptions } from '../src/smoothed-classifier.js';
import type { Classifier } from '../src/models/classifier.js';

test('Clopper-Pearson, PhiInv and binomial test match scipy reference values', () => {
  // scipy.stats.beta.ppf(0.001, 99990, 11), norm.ppf(0.999), binomtest(60, 100).pvalue
  assert.ok(Math.abs(clopperPearsonLower(99990, 100000, 0.001) - 0.9997586773435911) < 1e-12);
  assert.ok(Math.abs(clopperPearsonLower(100000, 100000, 0.001) - 0.001 ** (1 / 100000)) < 1e-12);
  assert.equal(clopperPearsonLower(0, 100, 0.001), 0);
  assert.ok(Math.abs(phiInverse(0.999) - 3.090232306167813) < 1e-9);
  assert.ok(Math.abs(binomialTwoSidedPValue(60, 100) - 0.056887933640981075) < 1e-12);
});

test('seeded Gaussian noise: reproducible, mean 0, variance 1', () => {
  const a = new Float32Array(200000);
  const b = new Float32Array(200000);
  new GaussianRng(7, 3).fillNoisy(a, 0, new Float32Array(a.length), 1);
  new GaussianRng(7, 3).fillNoisy(b, 0, new Float32Array(b.length), 1);
  assert.deepEqual(a, b);
  let m = 0;
  let v = 0;
  for (const x of a) {
    m += x;
    v += x * x;
  }
  assert.ok(Math.abs(m / a.length) < 0.01);
  assert.ok(Math.abs(v / a.length - 1) < 0.01);
});

test('resize operator norms match the spec (PyTorch interpolate): 1.13, 1.15, 2.0', () => {
  assert.ok(Math.abs(operatorNorm(resizeMap(1, 32, 32, 36, 36, 'bilinear')).upper - 1.13) < 0.005);
  assert.ok(Math.abs(operatorNorm(resizeMap(1, 28, 28, 32, 32, 'bilinear')).upper - 1.15) < 0.005);
  assert.ok(Math.abs(operatorNorm(resizeMap(1, 32, 32, 36, 36, 'nearest')).upper - 2.0) < 1e-6);
});

/** Two-class linear classifier f(x) = [w.x + b > 0] in plain TypeScript. */
function linear(w: Float32Array, b: number, side: number): Classifier {
  return {
    inputShape: { channels: 1, height: side, width: side },
    numClasses: 2,
    async run(batch, count) {
      const out = new Float32Array(count * 2);
      for (let s = 0; s < count; s++) {
        let z = b;
        for (let i = 0; i < w.length; i++) z += w[i] * batch[s * w.length + i];
        out[2 * s + 1] = z;
      }
      return out;
    },
  };
}

test('soundness: certified radii of a linear classifier never exceed the exact robust radius beyond alpha', async () => {
  const side = 4;
  const rng = new GaussianRng(1, 1);
  const w = new Float32Array(side * side).map(() => rng.nextGaussian());
  const norm = Math.hypot(...w);
  const f = linear(w, 0.1, side);
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
  let tight = 0;
  const trials = 60;
  for (let i = 0; i < trials; i++) {
    const x = new Float32Array(side * side).map(() => rng.nextGaussian() * 0.3);
    let z = 0.1;
    for (let j = 0; j < x.length; j++) z += w[j] * x[j];
    const truth = Math.abs(z) / norm;
    const c = await g.certify({ pixels: x, index: i });
    if (c.prediction >= 0 && (c.prediction !== (z > 0 ? 1 : 0) || c.radius > truth)) violations++;
    if (c.prediction >= 0 && c.radius > 0.6 * truth) tight++;
  }
  assert.ok(violations <= 2, `${violations} violations in ${trials}`);
  assert.ok(tight > 0, 'radii are far below the exact radius');
});

test('soundness through Smooth-Mean patches: input-space radii respect the resize norm (and the smoothing-space radius would not)', async () => {
  // f on 4x4 patches of a 4x4 input resized to 6x6 (bilinear), stride 2: h(z) = mean_i f(P_i z) is
  // linear, d(x) = u.(R x) + b, so the exact input-space radius is |d(x)| / ||R^T u||.
  const side = 4;
  const w = new Float32Array(side * side).fill(1);
  const b = -8;
  const f = linear(w, b, side);
  const opts = {
    ...defaultSmoothingOptions,
    method: 'mean' as const,
    resize: { height: 6, width: 6 },
    stride: 2,
  };
  const g = new SmoothedClassifier(f, f.inputShape, {
    ...opts,
    sigma: 0.25,
    n0: 50,
    n: 4000,
    alpha: 0.01,
    batch: 500,
  });
  const R = resizeMap(1, side, side, 6, 6, 'bilinear');
  const probe = g.reducer.prepare(new Float32Array(16), 0);
  const k = probe.copies;
  // u = mean_i P_i^T w (in the resized space), then R^T u
  const u = new Float64Array(36);
  for (let p = 0; p < k; p++) {
    for (let j = 0; j < 16; j++) u[probe.gather.index[p * 16 + j]] += w[j] / k;
  }
  const rtu = new Float64Array(16);
  R.mulTransposed(u, rtu);
  const rtuNorm = Math.hypot(...rtu);
  const rng = new GaussianRng(5, 5);
  let violations = 0;
  let unsoundIfIgnored = 0;
  const trials = 40;
  for (let i = 0; i < trials; i++) {
    const x = new Float32Array(16).map(() => 0.5 + 0.15 * rng.nextGaussian());
    let d = b;
    for (let j = 0; j < 16; j++) d += rtu[j] * x[j];
    const truth = Math.abs(d) / rtuNorm;
    const c = await g.certify({ pixels: x, index: i });
    if (c.prediction < 0) continue;
    if (c.prediction !== (d > 0 ? 1 : 0) || c.radius > truth) violations++;
    if (c.radiusSmoothing > truth) unsoundIfIgnored++;
  }
  assert.ok(violations <= 2, `${violations} violations in ${trials}`);
  assert.ok(
    unsoundIfIgnored > trials / 4,
    `a certifier ignoring ||R|| would violate only ${unsoundIfIgnored} times`,
  );
});
