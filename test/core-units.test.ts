/**
 * The core's own unit tests: CERTIFY / PREDICT / adaptive CERTIFY over scripted vote sources
 * (core/smooth.ts), patch geometry (reduce/patches.ts), the reduction of k outputs to a vote
 * (reduce/aggregate.ts), sparse linear maps (reduce/linear-map.ts) and the sampler's batching
 * (sampling/sampler.ts). Every expected value is computed independently of the code under test.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../src/core/errors.js';
import { GaussianRng, noiseGrid } from '../src/core/rng.js';
import {
  ABSTAIN,
  adaptiveSchedule,
  argmax,
  certifyVotes,
  certifyVotesAdaptive,
  predictVotes,
  SAMPLER_ALPHA_SHARE,
  type VoteSource,
} from '../src/core/smooth.js';
import {
  binomialTwoSidedPValue,
  clopperPearsonLower,
  clopperPearsonUpper,
  phi,
  phiInverse,
  samplerSlack,
} from '../src/core/stats.js';
import type { Classifier } from '../src/models/classifier.js';
import { Aggregator } from '../src/reduce/aggregate.js';
import { LinearMap } from '../src/reduce/linear-map.js';
import { axisPositions, gridPositions, patchPixelIndices, randomPositions } from '../src/reduce/patches.js';
import type { Plan } from '../src/reduce/reducer.js';
import { Sampler } from '../src/sampling/sampler.js';

/** A vote source that answers each call with the next scripted count vector, and records the sizes asked. */
function scripted(...answers: number[][]): VoteSource & { asked: number[] } {
  const asked: number[] = [];
  const source = async (num: number) => {
    asked.push(num);
    const next = answers.shift();
    assert.ok(next, `unexpected call for ${num} votes`);
    assert.equal(
      next.reduce((a, b) => a + b, 0),
      num,
      'the script answers with exactly the votes asked',
    );
    return Uint32Array.from(next);
  };
  return Object.assign(source, { asked });
}

/** Every vote for `cls` of `classes`, however many are asked. */
function unanimous(cls: number, classes: number): VoteSource & { asked: number[] } {
  const asked: number[] = [];
  const source = async (num: number) => {
    asked.push(num);
    const c = new Uint32Array(classes);
    c[cls] = num;
    return c;
  };
  return Object.assign(source, { asked });
}

const close = (a: number, b: number, rel = 1e-9) =>
  assert.ok(Math.abs(a - b) <= rel * Math.max(1, Math.abs(b)), `${a} != ${b}`);

describe('core/smooth: CERTIFY', () => {
  it('selects cA on the n0 selection votes, counts it on n fresh ones, radius sigma PhiInv(pA)', async () => {
    // selection favours class 2; estimation gives class 2 960 of 1000 (class 0 more than the rest)
    const votes = scripted([1, 3, 16], [30, 10, 960]);
    const c = await certifyVotes(votes, { sigma: 0.5, n0: 20, n: 1000, alpha: 0.001 });
    assert.deepEqual(votes.asked, [20, 1000]);
    assert.equal(c.cA, 2);
    assert.equal(c.prediction, 2);
    assert.equal(c.nA, 960);
    assert.equal(c.samples, 1000);
    assert.deepEqual([...c.counts], [30, 10, 960]);
    const pA = clopperPearsonLower(960, 1000, 0.001);
    close(c.pALower, pA);
    assert.ok(c.radius <= 0.5 * phiInverse(pA), 'never above the exact radius');
    close(c.radius, 0.5 * phiInverse(pA), 1e-9);
  });

  it('the class comes from the selection votes, not from the estimation votes', async () => {
    // selection says class 1; the estimation votes go to class 0: nA counts class 1, which fails
    const c = await certifyVotes(scripted([2, 8], [90, 10]), { sigma: 1, n0: 10, n: 100, alpha: 0.01 });
    assert.equal(c.cA, 1);
    assert.equal(c.nA, 10);
    assert.equal(c.prediction, ABSTAIN);
  });

  it('abstains when the lower bound is below 1/2, reporting cA, nA and pA but radius 0', async () => {
    // 55 of 100 is a majority, but its 99.9 % lower bound is below 1/2
    const c = await certifyVotes(scripted([0, 10], [45, 55]), { sigma: 0.25, n0: 10, n: 100, alpha: 0.001 });
    const pA = clopperPearsonLower(55, 100, 0.001);
    assert.ok(pA < 0.5 && pA > 0.3);
    assert.deepEqual([c.prediction, c.radius, c.cA, c.nA, c.samples], [ABSTAIN, 0, 1, 55, 100]);
    close(c.pALower, pA);
  });

  it('certifies just above 1/2 and abstains just below: the boundary is pA = 1/2', async () => {
    const n = 1000;
    const alpha = 0.01;
    // smallest nA whose lower bound reaches 1/2, found by scanning the bound itself
    let k = n / 2;
    while (clopperPearsonLower(k, n, alpha) < 0.5) k++;
    const at = await certifyVotes(scripted([0, 1], [n - k, k]), { sigma: 1, n0: 1, n, alpha });
    const below = await certifyVotes(scripted([0, 1], [n - k + 1, k - 1]), { sigma: 1, n0: 1, n, alpha });
    assert.equal(at.prediction, 1);
    assert.ok(at.radius >= 0 && at.radius < 0.1);
    assert.equal(below.prediction, ABSTAIN);
  });

  it('ties in the selection go to the lowest class index (numpy argmax)', async () => {
    const c = await certifyVotes(scripted([0, 5, 5], [0, 0, 100]), { sigma: 1, n0: 10, n: 100, alpha: 0.01 });
    assert.equal(c.cA, 1);
    assert.equal(c.prediction, ABSTAIN, 'class 1 got none of the estimation votes');
    assert.equal(argmax([3, 7, 7, 1]), 1);
    assert.equal(argmax([2, 2]), 0);
  });

  it('the deduction is taken off pA before the radius', async () => {
    const p = { sigma: 1, n0: 10, n: 1000, alpha: 0.001 };
    const plain = await certifyVotes(scripted([0, 10], [20, 980]), p);
    const charged = await certifyVotes(scripted([0, 10], [20, 980]), { ...p, deduction: 0.01 });
    close(charged.pALower, plain.pALower - 0.01);
    close(charged.radius, phiInverse(plain.pALower - 0.01), 1e-9);
    const huge = await certifyVotes(scripted([0, 10], [20, 980]), { ...p, deduction: 0.6 });
    assert.equal(huge.prediction, ABSTAIN);
  });
});

describe('core/smooth: PREDICT', () => {
  it('binomial test of the top two counts; abstains when not significant', async () => {
    const p = await predictVotes(scripted([0, 90, 10, 0]), { n: 100, alpha: 0.001 });
    assert.equal(p.prediction, 1);
    close(p.pValue, binomialTwoSidedPValue(90, 100));
    // 60 vs 40 of 100: p = 0.057 > 0.01
    const q = await predictVotes(scripted([60, 40]), { n: 100, alpha: 0.01 });
    assert.equal(q.prediction, ABSTAIN);
    close(q.pValue, binomialTwoSidedPValue(60, 100));
  });

  it('the runner-up is the second largest count wherever it is, also when class 0 leads', async () => {
    // top class 2 with 50, runner-up class 3 with 40 (class 0 has 10): the test is 50 of 90
    const p = await predictVotes(scripted([10, 0, 50, 40]), { n: 100, alpha: 0.5 });
    close(p.pValue, binomialTwoSidedPValue(50, 90));
    // class 0 leads, runner-up class 2
    const q = await predictVotes(scripted([70, 5, 25]), { n: 100, alpha: 0.001 });
    close(q.pValue, binomialTwoSidedPValue(70, 95));
    assert.equal(q.prediction, 0);
  });

  it('a tie between the top two is never significant', async () => {
    const p = await predictVotes(scripted([0, 50, 50]), { n: 100, alpha: 0.5 });
    assert.equal(p.prediction, ABSTAIN);
    assert.equal(p.pValue, 1);
  });

  it("the sampler's deviation is charged: k samples moved from the top class to the runner-up", async () => {
    // k = 6: scipy.stats.binom.sf(k, 100, 0.01) is 5.3e-4 at k = 5, 7.1e-5 at k = 6 (level 5e-4)
    assert.equal(samplerSlack(100, 0.01, 0.05 * SAMPLER_ALPHA_SHARE), 6);
    // scipy: 3 at n = 10,000 and 5 at n = 100,000 for 4.1e-6 per sample (3 x 36 x 36 at sigma .25), level 1e-5
    assert.equal(samplerSlack(10_000, 4.1e-6, 1e-5), 3);
    assert.equal(samplerSlack(100_000, 4.1e-6, 1e-5), 5);
    assert.equal(samplerSlack(100_000, 0, 1e-5), 0);
    const p = { n: 100, alpha: 0.05, deduction: 0.01 };
    // 70 vs 30: tested as 64 of 100 (scipy binomtest(64, 100).pvalue = 0.006637) at 0.05 * 0.99
    const a = await predictVotes(scripted([0, 70, 30]), p);
    assert.equal(a.prediction, 1);
    close(a.pValue, 0.006637120515926128, 1e-9);
    // 62 vs 38: significant without the charge (p = 0.021), not with it (56 of 100)
    const plain = await predictVotes(scripted([62, 38]), { n: 100, alpha: 0.05 });
    assert.equal(plain.prediction, 0);
    const charged = await predictVotes(scripted([62, 38]), p);
    assert.equal(charged.prediction, ABSTAIN);
    close(charged.pValue, binomialTwoSidedPValue(56, 100));
    // 53 vs 47 becomes 47 vs 53: worse than a tie, p = 1
    assert.equal((await predictVotes(scripted([53, 47]), p)).pValue, 1);
  });
});

describe('core/smooth: adaptive CERTIFY', () => {
  it('the schedule: ceil(n / 2^(K-k)), strictly increasing, ending at n', () => {
    assert.deepEqual(adaptiveSchedule(1000, 4), [125, 250, 500, 1000]);
    assert.deepEqual(adaptiveSchedule(10, 5), [1, 2, 3, 5, 10]);
    assert.deepEqual(adaptiveSchedule(1, 3), [1]);
    assert.deepEqual(adaptiveSchedule(7, 1), [7]);
  });

  it('draws only the increments between looks and stops at the first look that decides "yes"', async () => {
    const p = { sigma: 1, n0: 10, n: 8000, alpha: 0.001, looks: 4, radius: 0.5 };
    const votes = unanimous(0, 3);
    const c = await certifyVotesAdaptive(votes, p);
    // expected stop: the first look whose lower bound at alpha/K reaches Phi(radius / sigma)
    const target = phi(p.radius / p.sigma);
    const looks = adaptiveSchedule(p.n, p.looks);
    const stop = looks.find((nk) => clopperPearsonLower(nk, nk, p.alpha / p.looks) >= target);
    assert.ok(stop !== undefined && stop < p.n, 'a unanimous vote decides before n');
    assert.equal(c.samples, stop);
    const increments = looks.slice(0, looks.indexOf(stop) + 1).map((nk, i, a) => nk - (i ? a[i - 1] : 0));
    assert.deepEqual(votes.asked, [p.n0, ...increments]);
    assert.equal(c.prediction, 0);
    const pA = clopperPearsonLower(stop, stop, p.alpha / p.looks);
    close(c.pALower, pA);
    close(c.radius, p.sigma * phiInverse(pA), 1e-9);
    assert.ok(c.radius >= p.radius, 'a "yes" certifies at least the asked radius');
  });

  it('stops early on a clear "no" and keeps whatever radius its bound gives', async () => {
    const p = { sigma: 1, n0: 10, n: 16000, alpha: 0.001, looks: 5, radius: 2 };
    // 70 % for class 1: far below Phi(2) = 0.977
    const votes = async (num: number) => {
      const c = new Uint32Array(2);
      c[1] = Math.round(num * 0.7);
      c[0] = num - c[1];
      return c;
    };
    const c = await certifyVotesAdaptive(votes, p);
    const target = phi(2);
    const first = adaptiveSchedule(p.n, p.looks)[0];
    const nA = Math.round(first * 0.7);
    assert.ok(clopperPearsonUpper(nA, first, p.alpha / p.looks) < target, 'decided at the first look');
    assert.equal(c.samples, first);
    assert.equal(c.prediction, 1);
    close(c.pALower, clopperPearsonLower(nA, first, p.alpha / p.looks));
    assert.ok(c.radius < p.radius);
  });

  it('undecided looks run to n, with bounds at alpha / K, not alpha', async () => {
    // radius right at what the votes support: never decided before the last look
    const n = 4000;
    const p = { sigma: 1, n0: 10, n, alpha: 0.01, looks: 3 };
    const share = 0.8;
    const votes = async (num: number) => {
      const c = new Uint32Array(2);
      c[0] = Math.round(num * share);
      c[1] = num - c[0];
      return c;
    };
    const radius = phiInverse(share);
    const c = await certifyVotesAdaptive(votes, { ...p, radius });
    assert.equal(c.samples, n);
    const nA = Math.round(n * share);
    close(c.pALower, clopperPearsonLower(nA, n, p.alpha / p.looks));
    assert.ok(c.pALower < clopperPearsonLower(nA, n, p.alpha), 'the union bound costs something');
  });
});

describe('reduce/patches', () => {
  it('positions along an axis: 0, stride, ... while the patch fits', () => {
    assert.deepEqual(axisPositions(32, 28, 2), [0, 2, 4]);
    assert.deepEqual(axisPositions(10, 3, 4), [0, 4]);
    assert.deepEqual(axisPositions(5, 5, 1), [0]);
    assert.deepEqual(axisPositions(4, 5, 1), []);
  });

  it('the grid is row-major; a cap keeps the first and last and spreads the rest evenly', () => {
    const all = gridPositions(32, 32, { height: 28, width: 28 }, 2);
    assert.equal(all.length, 9);
    assert.deepEqual(all.slice(0, 4), [
      { top: 0, left: 0 },
      { top: 0, left: 2 },
      { top: 0, left: 4 },
      { top: 2, left: 0 },
    ]);
    const five = gridPositions(32, 32, { height: 28, width: 28 }, 2, 5);
    assert.deepEqual(
      five,
      [0, 2, 4, 6, 8].map((i) => all[i]),
    );
    assert.deepEqual(gridPositions(32, 32, { height: 28, width: 28 }, 2, 1), [{ top: 2, left: 2 }]);
    assert.deepEqual(gridPositions(32, 32, { height: 28, width: 28 }, 2, 50), all);
    // rectangular image and patch
    assert.deepEqual(gridPositions(4, 6, { height: 3, width: 2 }, 2), [
      { top: 0, left: 0 },
      { top: 0, left: 2 },
      { top: 0, left: 4 },
    ]);
  });

  it('pixel indices: patch, channel, row, column order into the C x H x W image', () => {
    // 2 channels of 3 x 4; one 2 x 2 patch at row 1, column 2
    const idx = patchPixelIndices([{ top: 1, left: 2 }], 2, 3, 4, { height: 2, width: 2 });
    assert.deepEqual([...idx], [6, 7, 10, 11, 18, 19, 22, 23]);
    const two = patchPixelIndices(
      [
        { top: 0, left: 0 },
        { top: 1, left: 1 },
      ],
      1,
      3,
      3,
      { height: 2, width: 2 },
    );
    assert.deepEqual([...two], [0, 1, 3, 4, 4, 5, 7, 8]);
  });

  it('random positions: inside the image, reproducible from the seed, all offsets reachable', () => {
    const draw = (seed: number) =>
      randomPositions(10, 12, { height: 7, width: 7 }, 400, new GaussianRng(seed, 3));
    const a = draw(1);
    assert.deepEqual(a, draw(1));
    assert.notDeepEqual(a, draw(2));
    for (const p of a) assert.ok(p.top >= 0 && p.top <= 3 && p.left >= 0 && p.left <= 5, JSON.stringify(p));
    assert.deepEqual(new Set(a.map((p) => p.top)).size, 4);
    assert.deepEqual(new Set(a.map((p) => p.left)).size, 6);
  });
});

describe('reduce/aggregate', () => {
  const rows = (...r: number[][]) => Float32Array.from(r.flat());

  it('max and mean over patches can choose different classes', () => {
    // patch 0 is sure of class 0; patches 1 and 2 lean to class 1
    const out = rows([4, 3, 0], [0, 3, 0], [0, 3, 0]);
    assert.equal(new Aggregator(3, 'max', 'logits').vote(out, 0, 3), 0);
    assert.equal(new Aggregator(3, 'mean', 'logits').vote(out, 0, 3), 1);
  });

  it('softmax and logits can choose different classes', () => {
    // one very confident patch for class 0 outweighs in logits, not in probabilities
    const out = rows([20, 0], [0, 2], [0, 2]);
    assert.equal(new Aggregator(2, 'mean', 'logits').vote(out, 0, 3), 0);
    assert.equal(new Aggregator(2, 'mean', 'softmax').vote(out, 0, 3), 1);
    // softmax is shift-invariant per patch: adding 100 to one patch's logits changes nothing
    const shifted = rows([120, 100], [0, 2], [0, 2]);
    assert.equal(new Aggregator(2, 'mean', 'softmax').vote(shifted, 0, 3), 1);
    assert.equal(new Aggregator(2, 'mean', 'logits').vote(shifted, 0, 3), 0);
  });

  it('reads the k rows starting at `row`; ties go to the lowest class; k = 1 is the argmax', () => {
    const out = rows([9, 0, 0], [0, 1, 1], [0, 0, 5]);
    const max = new Aggregator(3, 'max', 'logits');
    assert.equal(max.vote(out, 1, 1), 1, 'tie between classes 1 and 2');
    assert.equal(max.vote(out, 1, 2), 2);
    assert.equal(max.vote(out, 2, 1), 2);
    for (const over of ['logits', 'softmax'] as const) {
      for (const red of ['max', 'mean'] as const)
        assert.equal(new Aggregator(3, red, over).vote(out, 0, 1), 0);
    }
  });
});

describe('reduce/linear-map', () => {
  it('identity copies and says so', () => {
    const m = LinearMap.identity(3);
    assert.ok(m.isIdentity);
    const out = new Float32Array(5);
    m.apply(Float32Array.of(9, 1, 2, 3), 1, out, 2);
    assert.deepEqual([...out], [0, 0, 1, 2, 3]);
  });

  it('apply: out[r] = sum_t w[r, t] in[index[r, t]], at the given offsets', () => {
    // two rows of two taps over a 3-vector: [x0 + 2 x2, 0.5 x1 - x0]
    const m = new LinearMap(2, 3, 2, Int32Array.of(0, 2, 1, 0), Float32Array.of(1, 2, 0.5, -1));
    const out = new Float32Array(3);
    m.apply(Float32Array.of(7, 1, 2, 3), 1, out, 1);
    assert.deepEqual([...out], [0, 1 + 2 * 3, 0.5 * 2 - 1]);
    const one = new LinearMap(2, 3, 1, Int32Array.of(2, 0), Float32Array.of(3, -2));
    const o1 = new Float32Array(2);
    one.apply(Float32Array.of(1, 2, 4), 0, o1, 0);
    assert.deepEqual([...o1], [12, -2]);
  });

  it('selectRows keeps the chosen rows in order and the weight precision', () => {
    const m = new LinearMap(3, 2, 1, Int32Array.of(0, 1, 0), Float64Array.of(1, 2, 3));
    const s = m.selectRows([2, 0]);
    assert.equal(s.rows, 2);
    assert.ok(s.weight instanceof Float64Array);
    assert.deepEqual([...s.index], [0, 0]);
    assert.deepEqual([...s.weight], [3, 1]);
    assert.ok(!s.isIdentity);
  });

  it('mul and mulTransposed are adjoint, and agree with apply', () => {
    const rng = new GaussianRng(5, 0);
    const rows = 7;
    const cols = 5;
    const taps = 3;
    const index = Int32Array.from({ length: rows * taps }, () => rng.nextBelow(cols));
    const weight = Float64Array.from({ length: rows * taps }, () => rng.nextGaussian());
    const m = new LinearMap(rows, cols, taps, index, weight);
    const x = Float64Array.from({ length: cols }, () => rng.nextGaussian());
    const y = Float64Array.from({ length: rows }, () => rng.nextGaussian());
    const mx = new Float64Array(rows);
    const mty = new Float64Array(cols);
    m.mul(x, mx);
    m.mulTransposed(y, mty);
    const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i], 0);
    close(dot(y, mx), dot(mty, x), 1e-12);
    const f32 = new Float32Array(rows);
    new LinearMap(rows, cols, taps, index, Float32Array.from(weight)).apply(Float32Array.from(x), 0, f32, 0);
    for (let r = 0; r < rows; r++) assert.ok(Math.abs(f32[r] - mx[r]) < 1e-5);
  });

  it('rejects index and weight arrays of the wrong length', () => {
    assert.throws(() => new LinearMap(2, 2, 2, new Int32Array(3), new Float32Array(4)), /expected 4 taps/);
  });

  it('roundingError bounds the distance of a written result from the exact product', () => {
    const m = new LinearMap(1, 2, 2, Int32Array.of(0, 1), Float32Array.of(1, 1));
    const input = Float32Array.of(1, 2 ** -30);
    const out = new Float32Array(1);
    m.apply(input, 0, out, 0);
    // 1 + 2^-30 is not a float32: the written value is off by 2^-30
    assert.equal(out[0], 1);
    const bound = m.roundingError(input, out);
    assert.ok(bound >= 2 ** -30 && bound < 2 ** -29, String(bound));
    const exact = new LinearMap(1, 2, 2, Int32Array.of(0, 1), Float32Array.of(2, 3));
    const e = new Float32Array(1);
    exact.apply(Float32Array.of(1, 1), 0, e, 0);
    assert.ok(exact.roundingError(Float32Array.of(1, 1), e) < 1e-14);
  });
});

describe('sampling/sampler', () => {
  /** 1 x 1 x d inputs; the vote is 1 when the input's first value exceeds `threshold`. */
  function thresholdClassifier(d: number, threshold: number) {
    const calls: number[] = [];
    const f: Classifier = {
      inputShape: { channels: 1, height: 1, width: d },
      numClasses: 2,
      async run(batch, count) {
        calls.push(count);
        const out = new Float32Array(count * 2);
        for (let s = 0; s < count; s++) out[2 * s + 1] = batch[s * d] > threshold ? 1 : -1;
        return out;
      },
    };
    return { f, calls };
  }
  const sigma = 0.5;
  const grid = noiseGrid([0, 1], sigma);
  const identityPlan = (center: Float32Array): Plan => ({
    center,
    noiseScale: 1,
    centerError: 0,
    copies: 1,
    gather: LinearMap.identity(center.length),
    positions: [],
  });

  it('calls of whole samples, sized by the call sizer (not by `batch`), every sample counted once', async () => {
    const { f, calls } = thresholdClassifier(3, 0);
    const sampler = new Sampler(f, { batch: 4, reduction: 'max', aggregate: 'logits', grid });
    const counts = await sampler.votes(identityPlan(new Float32Array(3)), sigma, new GaussianRng(1, 0))(10);
    // the call-size ladder starts at one sample and doubles (sampling/call-size.ts); each size is
    // used twice, as the next call is drawn while the previous one is scored
    assert.deepEqual(calls, [1, 1, 2, 2, 4]);
    assert.equal(counts[0] + counts[1], 10);
  });

  it('votes follow the noise: about Phi(c / sigma) of samples above 0 around c', async () => {
    const { f } = thresholdClassifier(1, 0);
    const sampler = new Sampler(f, { batch: 250, reduction: 'max', aggregate: 'logits', grid });
    const c = 0.25;
    const counts = await sampler.votes(
      identityPlan(Float32Array.of(c)),
      sigma,
      new GaussianRng(2, 0),
    )(20_000);
    const share = counts[1] / 20_000;
    // binomial standard deviation at n = 20,000 is 0.0035: 5 of them
    assert.ok(Math.abs(share - phi(c / sigma)) < 0.018, `${share} vs ${phi(c / sigma)}`);
  });

  it('the same seed gives the same counts whatever the batch size', async () => {
    const { f } = thresholdClassifier(2, 0.1);
    const center = Float32Array.of(0, 0.5);
    const count = (batch: number) =>
      new Sampler(f, { batch, reduction: 'max', aggregate: 'logits', grid }).votes(
        identityPlan(center),
        sigma,
        new GaussianRng(7, 4),
      )(333);
    const a = await count(1);
    assert.deepEqual(await count(64), a);
    assert.deepEqual(await count(1000), a);
    const other = await new Sampler(f, { batch: 64, reduction: 'max', aggregate: 'logits', grid }).votes(
      identityPlan(center),
      sigma,
      new GaussianRng(8, 4),
    )(333);
    assert.notDeepEqual(other, a);
  });

  it('with patches: the gather map builds `copies` model inputs per sample, reduced to one vote', async () => {
    // smoothing space of 3 values; two patches of 1 value: patch 0 reads value 0, patch 1 reads value 2
    const gather = new LinearMap(2, 3, 1, Int32Array.of(0, 2), Float32Array.of(1, 1));
    const plan: Plan = { ...identityPlan(Float32Array.of(-10, 0, 10)), copies: 2, gather };
    const { f, calls } = thresholdClassifier(1, 0);
    const max = await new Sampler(f, { batch: 5, reduction: 'max', aggregate: 'logits', grid }).votes(
      plan,
      0.01,
      new GaussianRng(3, 0),
    )(12);
    // per sample: patch 0 far below 0 (logit -1), patch 1 far above (logit +1): max says class 1
    assert.deepEqual([...max], [0, 12]);
    assert.deepEqual(calls, [2, 2, 4, 4, 8, 4], 'model inputs per call: samples x copies');
    // mean of logits [0,-1] and [0,1] is [0, 0]: a tie, which goes to class 0
    const mean = await new Sampler(f, { batch: 5, reduction: 'mean', aggregate: 'logits', grid }).votes(
      plan,
      0.01,
      new GaussianRng(3, 0),
    )(12);
    assert.deepEqual([...mean], [12, 0]);
  });

  it('a non-finite score stops the run with a UsageError', async () => {
    const f: Classifier = {
      inputShape: { channels: 1, height: 1, width: 1 },
      numClasses: 2,
      run: async (_batch, count) => new Float32Array(count * 2).fill(NaN),
    };
    const sampler = new Sampler(f, { batch: 8, reduction: 'max', aggregate: 'logits', grid });
    await assert.rejects(
      sampler.votes(identityPlan(Float32Array.of(0)), sigma, new GaussianRng(0, 0))(4),
      (e: unknown) => e instanceof UsageError && /non-finite score/.test(e.message),
    );
  });
});
