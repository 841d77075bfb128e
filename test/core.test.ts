import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clopperPearsonLower, phiInverse, binomialTwoSidedPValue } from '../src/core/stats.js';
import { GaussianRng, noiseGrid } from '../src/core/rng.js';
import { ABSTAIN, certifyVotes, certifyVotesEach } from '../src/core/smooth.js';
import { operatorNorm } from '../src/reduce/operator-norm.js';
import { resizeMap } from '../src/reduce/resize.js';

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
  new GaussianRng(7, 3).fillNoisy(a, 0, new Float32Array(a.length), 1, noiseGrid([0, 1], 1));
  new GaussianRng(7, 3).fillNoisy(b, 0, new Float32Array(b.length), 1, noiseGrid([0, 1], 1));
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

test('CERTIFY of several vote heads on shared samples: each head gets the certificate CERTIFY gives it alone', async () => {
  // two heads over the same draws: head 0 votes class (draw % 3), head 1 class 2 on 90 % of draws
  const source = () => {
    const rng = new GaussianRng(9, 0);
    return async (num: number) => {
      const heads = [new Uint32Array(3), new Uint32Array(3)];
      for (let i = 0; i < num; i++) {
        const u = rng.nextUniform();
        heads[0][Math.floor(u * 3)]++;
        heads[1][u < 0.9 ? 2 : 0]++;
      }
      return heads;
    };
  };
  const params = { sigma: 0.5, n0: 50, n: 2000, alpha: 0.001 };
  const both = await certifyVotesEach(source(), params);
  for (const h of [0, 1]) {
    const each = source();
    const alone = await certifyVotes(async (num) => (await each(num))[h], params);
    assert.deepEqual(both[h], alone, `head ${h}`);
  }
  assert.equal(both[0].prediction, ABSTAIN);
  assert.equal(both[1].prediction, 2);
  assert.ok(both[1].radius > 0.5 * phiInverse(0.88));
});
