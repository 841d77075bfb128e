/**
 * Input-specific sample sizes (certifyVotesInputSpecific, after Chen et al., AAAI 2022): the sample
 * size is chosen from the selection samples, and the estimate uses fresh samples only, so the
 * Clopper-Pearson bound keeps alpha. Reusing the selection samples in the estimate (as Chen et
 * al.'s code does) breaks it: the tests below would catch that.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GaussianRng } from '../src/core/rng.js';
import { InputSpecificPlan, argmax, certifyVotes, certifyVotesInputSpecific } from '../src/core/smooth.js';
import { clopperPearsonLower, phiInverse } from '../src/core/stats.js';
import { SmoothedClassifier, defaultSmoothingOptions } from '../src/smoothed-classifier.js';
import { linearClassifier } from './helpers/linear-classifier.js';

/** Votes of a base classifier whose class c comes up with probability probs[c]; records each request. */
function categoricalVotes(probs: number[], rng: GaussianRng, requests: number[] = []) {
  return async (num: number) => {
    requests.push(num);
    const counts = new Uint32Array(probs.length);
    for (let i = 0; i < num; i++) {
      let u = rng.nextUniform();
      let c = 0;
      while (c < probs.length - 1 && u >= probs[c]) u -= probs[c++];
      counts[c]++;
    }
    return counts;
  };
}

/** Upper end of a one-sided binomial acceptance region: P[X > k] < 1e-4 for X ~ Bin(trials, p). */
function maxExpectedViolations(trials: number, p: number): number {
  return Math.ceil(trials * p + 4 * Math.sqrt(trials * p * (1 - p)) + 1);
}

describe('input-specific sample sizes', () => {
  it('keeps alpha where the selection steers both the class and the sample size; reusing the selection samples would not', async () => {
    // Two classes at exactly 1/2: argmax of the selection votes always favours the class it picks,
    // and the sample size depends on those votes. A lower bound above 1/2 is a wrong certificate.
    const probs = [0.5, 0.5];
    const params = { sigma: 1, n0: 1000, n: 1000, alpha: 0.1, loss: 0.5 };
    const plan = InputSpecificPlan.for(params.n, params.alpha, params.loss);
    const trials = 3000;
    let sound = 0;
    let reused = 0;
    for (let t = 0; t < trials; t++) {
      const c = await certifyVotesInputSpecific(categoricalVotes(probs, new GaussianRng(5, t)), params, plan);
      if (c.pALower > probs[c.cA]) sound++;
      // the same procedure with the selection votes added to the estimate
      const votes = categoricalVotes(probs, new GaussianRng(6, t));
      const selection = await votes(params.n0);
      const cA = argmax(selection);
      const size = plan.sampleSize(selection[cA], params.n0);
      if (size === 0) continue;
      const estimate = await votes(size);
      const lower = clopperPearsonLower(selection[cA] + estimate[cA], params.n0 + size, params.alpha);
      if (lower > probs[cA]) reused++;
    }
    const bound = maxExpectedViolations(trials, params.alpha);
    assert.ok(sound <= bound, `input-specific: ${sound} wrong bounds in ${trials} (at most ${bound})`);
    assert.ok(
      reused > bound,
      `reusing the selection samples: ${reused} wrong bounds, the test would not notice`,
    );
  });

  it('estimates on fresh samples only: the selection votes never enter the count', async () => {
    const requests: number[] = [];
    const c = await certifyVotesInputSpecific(categoricalVotes([0.9, 0.1], new GaussianRng(1, 0), requests), {
      sigma: 0.5,
      n0: 100,
      n: 10_000,
      alpha: 0.001,
      loss: 0.05,
    });
    assert.equal(requests.length, 2);
    assert.equal(requests[0], 100);
    assert.equal(c.samples, requests[1]);
    assert.equal(
      c.counts.reduce((a, b) => a + b, 0),
      c.samples,
    );
  });

  it('draws fewer samples where the radius saturates, all n where it does not, none where n could not certify', async () => {
    const base = { sigma: 1, n0: 100, n: 10_000, alpha: 0.001, loss: 0.05 };
    const plan = InputSpecificPlan.for(base.n, base.alpha, base.loss);
    // pA = 0.9: the bound saturates early
    const mid = await certifyVotesInputSpecific(
      categoricalVotes([0.9, 0.1], new GaussianRng(2, 0)),
      base,
      plan,
    );
    assert.ok(mid.samples < base.n / 2, `pA 0.9: ${mid.samples} samples`);
    const full = await certifyVotes(categoricalVotes([0.9, 0.1], new GaussianRng(2, 1)), base);
    assert.ok(mid.radius >= 0.9 * full.radius, `radius ${mid.radius} against ${full.radius} with all n`);
    // pA = 1: the radius is sigma PhiInv(alpha^(1/N)) and grows with N to the end
    const top = await certifyVotesInputSpecific(categoricalVotes([1, 0], new GaussianRng(2, 2)), base, plan);
    assert.ok(top.samples > base.n / 2, `pA 1: ${top.samples} samples`);
    assert.ok(top.radius >= (1 - base.loss) * phiInverse(base.alpha ** (1 / base.n)) - 1e-9);
    // no class near 1/2 (1,000 selection samples): abstains without estimation samples
    const hopeless = await certifyVotesInputSpecific(
      categoricalVotes([0.34, 0.33, 0.33], new GaussianRng(2, 4)),
      {
        ...base,
        n0: 1000,
      },
    );
    assert.equal(hopeless.samples, 0);
    assert.equal(hopeless.prediction, -1);
  });

  it('runs from SmoothedClassifier: radii of a linear classifier stay within the exact radius, fewer samples', async () => {
    const side = 4;
    const rng = new GaussianRng(3, 3);
    const w = new Float32Array(side * side).map(() => rng.nextGaussian());
    const norm = Math.hypot(...w);
    const f = linearClassifier(w, 0.1, side);
    const options = { ...defaultSmoothingOptions, sigma: 0.5, n0: 100, n: 2000, alpha: 0.01, batch: 500 };
    const g = new SmoothedClassifier(f, f.inputShape, { ...options, sampleLoss: 0.05 });
    let violations = 0;
    let samples = 0;
    const trials = 60;
    for (let i = 0; i < trials; i++) {
      const x = new Float32Array(side * side).map(() => rng.nextGaussian() * 0.3);
      let z = 0.1;
      for (let j = 0; j < x.length; j++) z += w[j] * x[j];
      const c = await g.certify({ pixels: x, index: i });
      samples += c.samples;
      if (c.prediction >= 0 && (c.prediction !== (z > 0 ? 1 : 0) || c.radius > Math.abs(z) / norm))
        violations++;
    }
    assert.ok(violations <= maxExpectedViolations(trials, options.alpha), `${violations} violations`);
    assert.ok(samples < trials * options.n, 'no samples saved');
    assert.throws(
      () => new SmoothedClassifier(f, f.inputShape, { ...options, sampleLoss: 0.05, adaptiveRadius: 0.1 }),
      /alternatives/,
    );
  });
});
