/**
 * Certificates that stay sound in floating point (README, Radius space): bounds moved toward safety,
 * the sampler's deviation from exact Gaussian noise charged, the centre's rounding subtracted, and
 * every number written rounded toward zero. Each test fails on the defect it names.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import betaQuantile from '@stdlib/stats-base-dists-beta-quantile';
import fc from 'fast-check';
import {
  GaussianRng,
  TABLE_DEVIATION,
  noiseGrid,
  samplerDeviation,
  zigguratTables,
} from '../src/core/rng.js';
import { formatDown } from '../src/core/round.js';
import { certifyVotes } from '../src/core/smooth.js';
import { clopperPearsonLower, phi, phiInverse } from '../src/core/stats.js';
import { readManifest } from '../src/io/manifest.js';
import { LinearMap } from '../src/reduce/linear-map.js';
import { gridPositions, patchPixelIndices } from '../src/reduce/patches.js';
import { defaultSmoothingOptions, parseSmoothingOptions } from '../src/options.js';
import { type NoiseMode, PatchReducer } from '../src/reduce/reducer.js';
import { type ResizeMode, resizeMap } from '../src/reduce/resize.js';
import { SAMPLE, cliInProcess, writeCentroidModel } from './helpers/cli.js';
import { topSingular } from './helpers/dense.js';

const tmp = mkdtempSync(join(tmpdir(), 'sr-float-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('ziggurat tables: every box has area V, so the algorithm is exact up to TABLE_DEVIATION', () => {
  const { R, V, kn, wn, fn, MAG } = zigguratTables;
  const x = (j: number) => wn[j] * MAG;
  let worst = 0;
  for (let j = 1; j < 128; j++) worst = Math.max(worst, Math.abs((x(j) * (fn[j - 1] - fn[j])) / V - 1));
  // the base strip: [0, V / f(R)] x [0, f(R)]
  worst = Math.max(worst, Math.abs((x(0) * Math.exp(-0.5 * R * R)) / V - 1));
  assert.ok(worst <= 1e-12, `box areas differ from V by ${worst}`);
  // the top box stops just below the curve's peak: the sliver above it has area < 1e-15
  const gap = 1 - fn[0];
  assert.ok(gap >= 0 && gap < 1e-10, `top edge 1 - ${gap}`);
  assert.ok(Math.sqrt(2 * gap) * gap < 1e-15);
  assert.ok(2 * worst + 1e-15 <= TABLE_DEVIATION);
  // fast acceptance only where the whole box column lies under the curve
  for (let j = 2; j < 128; j++) assert.ok(kn[j] <= (x(j - 1) / x(j)) * MAG);
  assert.ok(kn[0] <= (R / x(0)) * MAG);
});

test('noise on a grid: every noisy value is an exact multiple of the run grid, and follows N(c, sigma^2)', () => {
  const grid = noiseGrid([0, 1], 0.25);
  assert.equal(grid.step, 2 ** -20);
  assert.equal(noiseGrid([0, 255], 16).step, 2 ** -14);
  const n = 200_000;
  const center = new Float32Array(n).map((_, i) => (i % 256) / 255);
  const out = new Float32Array(n);
  new GaussianRng(3, 1).fillNoisy(out, 0, center, 0.25, grid);
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const k = out[i] * grid.inverse;
    assert.ok(Number.isInteger(k) && Math.abs(k) <= grid.limit, `value ${out[i]} is off the grid`);
    z[i] = (out[i] - center[i]) / 0.25;
  }
  z.sort();
  let ks = 0;
  for (let i = 0; i < n; i++)
    ks = Math.max(ks, Math.abs(phi(z[i]) - i / n), Math.abs(phi(z[i]) - (i + 1) / n));
  assert.ok(ks < 1.95 / Math.sqrt(n), `Kolmogorov-Smirnov distance ${ks}`);
});

test('the sampler deviation charged per coordinate is tiny, and certify subtracts d times it from pA', async () => {
  for (const sigma of [0.12, 0.25, 0.5, 1]) {
    const eps = samplerDeviation(sigma, noiseGrid([0, 1], sigma), 1);
    assert.ok(eps > TABLE_DEVIATION && eps < 2e-9, `sigma ${sigma}: ${eps}`);
  }
  const all = async (num: number) => Uint32Array.of(num, 0);
  const plain = await certifyVotes(all, { sigma: 1, n0: 10, n: 1000, alpha: 0.001 });
  const charged = await certifyVotes(all, { sigma: 1, n0: 10, n: 1000, alpha: 0.001, deduction: 1e-4 });
  assert.ok(Math.abs(plain.pALower - charged.pALower - 1e-4) < 1e-15);
  assert.ok(charged.radius < plain.radius);
});

// scipy.stats.beta.ppf(alpha, k, n - k + 1) (scipy 1.10.1), or mpmath's exact root of the
// regularised incomplete beta function where lower (n <= 1000; 40 digits), whichever is smaller.
const CLOPPER_PEARSON: [number, number, number, number][] = [
  [99990, 100000, 0.001, 0.9997586773435911],
  [100000, 100000, 0.001, 0.9999309248330094],
  [1, 1, 0.5, 0.5],
  [5, 10, 0.05, 0.22244110100812908],
  [990, 1000, 0.001, 0.9760361871553114],
  [999, 1000, 0.001, 0.9908045023646124],
  [1000, 1000, 0.001, 0.9931160484209338],
  [500, 1000, 0.001, 0.45077105398478234],
  [9999, 10000, 0.001, 0.9990770386693395],
  [51, 100, 0.001, 0.3541501986578039],
  [80, 100, 0.01, 0.6907912865934347],
  [1, 100000, 0.001, 1.000500328578529e-8],
  [60000, 100000, 0.001, 0.5952010472945846],
  [50000, 100000, 0.001, 0.49510904290369595],
  [999999, 1000000, 0.001, 0.9999907666245347],
  [86, 100, 0.001, 0.7247114248486913],
  [560, 1000, 0.0002, 0.5035955218178292],
  [8868, 10000, 0.0002, 0.875196797802406],
  [56, 100, 0.0002, 0.3802318032772903],
  [8, 10, 0.0002, 0.22665279686301096],
  [99956, 100000, 0.001, 0.9993140426289315],
  [733511, 1000000, 0.05, 0.7327827737448127],
  [920387, 1000000, 0.01, 0.9197551147173251],
  [56699, 100000, 0.05, 0.5644062948985064],
  [5, 10, 0.001, 0.08981318981185427],
  [783856, 1000000, 0.001, 0.7825816180729672],
  [6774, 10000, 0.0002, 0.6606516552526136],
  [515225, 1000000, 1e-5, 0.5130928639035366],
  [98, 100, 0.0002, 0.8758203085015],
  [9529, 10000, 0.01, 0.9477395987450763],
];

test('Clopper-Pearson lower bounds never exceed the scipy / mpmath reference values, and stay within 1e-11', () => {
  for (const [k, n, alpha, reference] of CLOPPER_PEARSON) {
    const ours = clopperPearsonLower(k, n, alpha);
    assert.ok(ours <= reference, `CP(${k}, ${n}, ${alpha}) = ${ours} > ${reference}`);
    assert.ok(ours >= reference * (1 - 1e-11), `CP(${k}, ${n}, ${alpha}) = ${ours} far below ${reference}`);
  }
});

test('bounds are written rounded toward zero: the text never claims more than was computed', () => {
  assert.equal(formatDown(0.4999996), '0.499999');
  assert.equal(formatDown(0.9999996), '0.999999');
  assert.equal(formatDown(0.5), '0.5');
  assert.equal(formatDown(2), '2.0');
  fc.assert(
    fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), (x) => {
      const back = Number(formatDown(x));
      return back <= x && back >= x * (1 - 1e-5);
    }),
    { numRuns: 20_000 },
  );
});

test('the float32 centre: its rounding distance is bounded from above and spent from the radius', () => {
  const reducer = new PatchReducer(
    { ...defaultSmoothingOptions, method: 'mean', resize: { height: 9, width: 11 }, stride: 2 },
    { channels: 2, height: 5, width: 7 },
    { channels: 2, height: 5, width: 7 },
  );
  const rng = new GaussianRng(4, 4);
  const x = new Float32Array(70).map(() => rng.nextUniform());
  const plan = reducer.prepare(x, 0);
  const R = resizeMap(2, 5, 7, 9, 11, 'bilinear');
  const exact = new Float64Array(R.rows);
  R.mul(Float64Array.from(x), exact);
  let sum = 0;
  for (let i = 0; i < exact.length; i++) sum += (plan.center[i] - exact[i]) ** 2;
  assert.ok(Math.sqrt(sum) > 0, 'the test needs a centre that float32 rounds');
  assert.ok(plan.centerError >= Math.sqrt(sum), `${plan.centerError} < ${Math.sqrt(sum)}`);
  assert.ok(plan.centerError <= 2 ** -24 * Math.hypot(...plan.center) * 1.01);
});

test('every radius and pA_lower written by certify is at most the value computed in float64 from its counts', async () => {
  const model = await writeCentroidModel(join(tmp, 'centroid.onnx'));
  const out = join(tmp, 'mean.tsv');
  const r = await cliInProcess([
    'certify',
    '--model',
    model,
    '--data',
    SAMPLE,
    '--max',
    '40',
    '--method',
    'mean',
    '--n0',
    '10',
    '--n',
    '300',
    '--alpha',
    '0.01',
    '--sigma',
    '0.12',
    '--threads',
    '1',
    '--quiet',
    '--out',
    out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const scale = readManifest(`${out}.manifest.json`).noiseScale!;
  const [header, ...lines] = readFileSync(out, 'utf8').trim().split('\n');
  const col = (name: string) => header.split('\t').indexOf(name);
  let certified = 0;
  for (const line of lines) {
    const f = line.split('\t');
    const [nA, n] = [Number(f[col('count_A')]), Number(f[col('n')])];
    if (Number(f[col('predict')]) < 0) continue;
    certified++;
    // the plain float64 computation, with none of the safety margins
    const p = betaQuantile(0.01, nA, n - nA + 1);
    assert.ok(Number(f[col('pA_lower')]) <= p, `${line}: pA_lower above ${p}`);
    const exact = (0.12 * phiInverse(p)) / scale;
    assert.ok(Number(f[col('radius')]) <= exact, `${line}: radius above ${exact}`);
  }
  assert.ok(certified >= 20, `only ${certified} certified`);
});

/** PyTorch's interpolate (align_corners=False) along one axis, as a dense in x out matrix; written anew here. */
function resizeMatrix(inSize: number, outSize: number, mode: ResizeMode): number[][] {
  const m = Array.from({ length: outSize }, () => new Array<number>(inSize).fill(0));
  for (let o = 0; o < outSize; o++) {
    if (mode === 'nearest') {
      m[o][Math.min(Math.floor((o * inSize) / outSize), inSize - 1)] = 1;
      continue;
    }
    const src = Math.max(((o + 0.5) * inSize) / outSize - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    m[o][i0] += 1 - (src - i0);
    m[o][Math.min(i0 + 1, inSize - 1)] += src - i0;
  }
  return m;
}

/** Rows of `m` stacked for every patch start along the axis. */
function stackedPatches(m: number[][], patch: number, stride: number): number[][] {
  const out: number[][] = [];
  for (let s = 0; s + patch <= m.length; s += stride) out.push(...m.slice(s, s + patch));
  return out;
}

const norms: {
  noise: NoiseMode;
  mode: ResizeMode;
  input: [number, number];
  resized: [number, number];
  model: [number, number];
}[] = [
  { noise: 'correlated', mode: 'bilinear', input: [28, 28], resized: [32, 32], model: [28, 28] },
  { noise: 'correlated', mode: 'bilinear', input: [32, 32], resized: [36, 36], model: [32, 32] },
  { noise: 'correlated', mode: 'nearest', input: [28, 28], resized: [32, 32], model: [28, 28] },
  { noise: 'correlated', mode: 'bilinear', input: [5, 7], resized: [9, 13], model: [5, 7] },
  { noise: 'uncorrelated', mode: 'bilinear', input: [8, 8], resized: [12, 12], model: [8, 8] },
  { noise: 'uncorrelated', mode: 'bilinear', input: [6, 9], resized: [8, 13], model: [5, 7] },
];
for (const c of norms) {
  const name = `${c.noise} ${c.mode} ${c.input.join('x')} -> ${c.resized.join('x')}`;
  test(`operator norm (${name}): the Kronecker product of the 1-D norms, and no less along the top singular direction`, () => {
    const [h, w] = c.input;
    const [H, W] = c.resized;
    const reducer = new PatchReducer(
      {
        ...defaultSmoothingOptions,
        method: 'mean',
        noise: c.noise,
        resizeMode: c.mode,
        resize: { height: H, width: W },
        stride: 2,
      },
      { channels: 1, height: h, width: w },
      { channels: 1, height: c.model[0], width: c.model[1] },
    );
    const scale = reducer.fixedNoiseScale!;
    let mh = resizeMatrix(h, H, c.mode);
    let mw = resizeMatrix(w, W, c.mode);
    if (c.noise === 'uncorrelated') {
      mh = stackedPatches(mh, c.model[0], 2);
      mw = stackedPatches(mw, c.model[1], 2);
    }
    const th = topSingular(mh);
    const tw = topSingular(mw);
    const kron = th.value * tw.value;
    assert.ok(scale >= kron, `${scale} < Kronecker product ${kron}`);
    assert.ok(scale <= kron * (1 + 1e-6), `${scale} is not pinned to ${kron}`);
    // the map as the sampler applies it (float32 weights), along v = v_h (x) v_w
    let map: LinearMap = resizeMap(1, h, w, H, W, c.mode);
    if (c.noise === 'uncorrelated') {
      const positions = gridPositions(H, W, { height: c.model[0], width: c.model[1] }, 2);
      map = map.selectRows(patchPixelIndices(positions, 1, H, W, { height: c.model[0], width: c.model[1] }));
    }
    const v = new Float64Array(h * w);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) v[y * w + x] = th.vector[y] * tw.vector[x];
    const mv = new Float64Array(map.rows);
    map.mul(v, mv);
    const stretch = Math.hypot(...mv) / Math.hypot(...v);
    assert.ok(stretch <= scale, `||M v|| / ||v|| = ${stretch} > ${scale}`);
    assert.ok(stretch >= 0.99 * scale * (1 + 1e-6), 'the top direction must expose a 1 % underestimate');
  });
}

// The translation variant (--pad): the zero pad is an isometry, so correlated noise on the canvas
// needs no division; uncorrelated noise per patch divides by ||P Pad|| = sqrt(lambda_max(Pad^T C Pad)),
// and Pad^T C Pad is the diagonal of how many patches cover each input pixel (counted here directly).
const padCases: {
  input: [number, number];
  pad: number;
  stride: number;
  model: [number, number];
  channels: number;
  maxPatches?: number;
}[] = [
  { input: [32, 32], pad: 2, stride: 2, model: [32, 32], channels: 3 },
  { input: [32, 32], pad: 2, stride: 1, model: [32, 32], channels: 1 },
  { input: [32, 32], pad: 4, stride: 4, model: [32, 32], channels: 1 },
  { input: [6, 9], pad: 3, stride: 2, model: [5, 7], channels: 2 },
  { input: [8, 8], pad: 8, stride: 9, model: [8, 8], channels: 1 },
  { input: [8, 8], pad: 2, stride: 1, model: [8, 8], channels: 1, maxPatches: 5 },
];
for (const c of padCases) {
  const name = `pad ${c.pad}, stride ${c.stride}, ${c.channels} x ${c.input.join('x')} -> patches ${c.model.join('x')}${c.maxPatches ? `, ${c.maxPatches} patches` : ''}`;
  test(`operator norm of translations (${name}): 1 on the canvas, sqrt(most patches per input pixel) for stacked patches`, () => {
    const [h, w] = c.input;
    const [H, W] = [h + 2 * c.pad, w + 2 * c.pad];
    const shape = (s: [number, number]) => ({ channels: c.channels, height: s[0], width: s[1] });
    const reducer = (noise: NoiseMode) =>
      new PatchReducer(
        {
          ...defaultSmoothingOptions,
          method: 'mean',
          noise,
          pad: c.pad,
          stride: c.stride,
          maxPatches: c.maxPatches,
        },
        shape(c.input),
        shape(c.model),
      );
    // the canvas: the input at offset (pad, pad), zeros around it, copied exactly
    const rng = new GaussianRng(9, 9);
    const x = new Float32Array(c.channels * h * w).map(() => rng.nextUniform());
    const correlated = reducer('correlated');
    assert.equal(correlated.fixedNoiseScale, 1);
    const plan = correlated.prepare(x, 0);
    assert.equal(plan.center.length, c.channels * H * W);
    assert.ok(plan.centerError < 1e-12, `centre rounding ${plan.centerError}: the pad copies pixels exactly`);
    for (let ch = 0; ch < c.channels; ch++)
      for (let y = 0; y < H; y++)
        for (let xx = 0; xx < W; xx++) {
          const [iy, ix] = [y - c.pad, xx - c.pad];
          const inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
          assert.equal(plan.center[ch * H * W + y * W + xx], inside ? x[ch * h * w + iy * w + ix] : 0);
        }
    assert.match(
      correlated.geometry.smoothingSpace,
      new RegExp(`padded canvas \\(${H}x${W}, zero pad ${c.pad}\\)`),
    );
    // stacked patches: count the patches covering every input pixel
    const positions = correlated.fixedPositions!;
    assert.equal(plan.copies, positions.length);
    let most = 0;
    for (let iy = 0; iy < h; iy++)
      for (let ix = 0; ix < w; ix++) {
        let k = 0;
        for (const p of positions) {
          const [y, xx] = [iy + c.pad - p.top, ix + c.pad - p.left];
          if (y >= 0 && y < c.model[0] && xx >= 0 && xx < c.model[1]) k++;
        }
        most = Math.max(most, k);
      }
    const scale = reducer('uncorrelated').fixedNoiseScale!;
    assert.ok(scale >= Math.sqrt(most), `${scale} < sqrt(${most})`);
    assert.ok(scale <= Math.sqrt(most) * (1 + 1e-6), `${scale} is not pinned to sqrt(${most})`);
    assert.equal(reducer('input').fixedNoiseScale, 1);
  });
}

test('translations: --pad and --resize are alternatives, and the pad must be whole pixels', () => {
  const s = { channels: 1, height: 8, width: 8 };
  assert.throws(
    () =>
      new PatchReducer(
        { ...defaultSmoothingOptions, method: 'mean', pad: 2, resize: { height: 12, width: 12 } },
        s,
        s,
      ),
    /alternatives/,
  );
  assert.throws(
    () => new PatchReducer({ ...defaultSmoothingOptions, method: 'mean', pad: 1.5 }, s, s),
    /whole/,
  );
  assert.throws(
    () => parseSmoothingOptions({ method: 'mean', pad: 2, resize: { height: 12, width: 12 } }),
    /pad/,
  );
  assert.equal(parseSmoothingOptions({ method: 'mean', pad: 2 }).pad, 2);
});
