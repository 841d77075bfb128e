/**
 * Denoised smoothing (src/models/denoiser.ts): the denoiser runs after the noise, so f(D(.)) is just
 * another base classifier. Soundness against an affine denoiser in front of a linear classifier (the
 * exact radius is known, and a denoiser applied before the noise would overstate it 3x), where the
 * denoiser runs (per sample or per model input), the CLI end to end (an identity denoiser changes no
 * log line; the manifest records the denoiser; resuming with another one is refused; mismatches are
 * one-line errors; warnings) and one-shot diffusion denoising's scale conversions.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GaussianRng } from '../src/core/rng.js';
import { IdxDataset } from '../src/data/idx.js';
import type { Shape3 } from '../src/core/shape.js';
import { readManifest } from '../src/io/manifest.js';
import { DenoisedClassifier, type Denoiser } from '../src/models/denoiser.js';
import { alphaBars, diffusionStep } from '../src/models/diffusion.js';
import { OnnxDenoiser } from '../src/models/onnx-denoiser.js';
import { resizeMap } from '../src/reduce/resize.js';
import { type RunningWorker, startWorker } from '../src/queue/worker.js';
import { type Service, createService } from '../src/serve/app.js';
import { SmoothedClassifier, defaultSmoothingOptions } from '../src/smoothed-classifier.js';
import { REPO, SAMPLE, cli, withoutTime, writeCentroidModel } from './helpers/cli.js';
import { linearClassifier } from './helpers/linear-classifier.js';
import { affineImageModel } from './helpers/onnx-models.js';
import { RedisServer, redisMissing } from './helpers/redis.js';
import { checkAgainstLinearTruth } from './helpers/soundness.js';

/** D(z) = scale z + shift in plain TypeScript, of any size, or only `only` when given. */
function affineDenoiser(scale: number, shift: number, only?: { height: number; width: number }): Denoiser {
  return {
    name: `affine ${scale} ${shift}`,
    channels: 1,
    accepts: (s: Shape3) =>
      s.channels === 1 && (!only || (s.height === only.height && s.width === only.width)),
    async run(batch, count, shape) {
      const size = shape.channels * shape.height * shape.width;
      return Float32Array.from(batch.subarray(0, count * size), (v) => scale * v + shift);
    },
  };
}

describe('denoised smoothing: soundness', () => {
  const side = 4;
  const w = new Float32Array(side * side).fill(1);
  const b = -8;
  // D(z) = 3 z - 1 in front of f(x) = [w.x + b > 0]: f(D(x + e)) = [3 w.(x + e) - sum(w) + b > 0]
  const scale = 3;
  const shift = -1;
  const options = { ...defaultSmoothingOptions, sigma: 0.25, n0: 50, n: 4000, alpha: 0.01, batch: 500 };
  const check = { seed: 7, stream: 7, trials: 60, alpha: 0.01, minMeanRatio: 0.6 };

  it('RS: radii of f(D(.)) respect the exact radius of the composite linear decision', async () => {
    const f = linearClassifier(w, b, side);
    const g = new SmoothedClassifier(
      new DenoisedClassifier(affineDenoiser(scale, shift), f),
      f.inputShape,
      options,
    );
    assert.deepEqual(g.denoising, { on: 'sample', shape: f.inputShape });
    const u = Float64Array.from(w, (v) => scale * v);
    await checkAgainstLinearTruth(g, u, b + shift * side * side, check);
  });

  it('a denoiser applied BEFORE the noise would overstate radii: the check above would fail', async () => {
    const f = linearClassifier(w, b, side);
    const g = new SmoothedClassifier(f, f.inputShape, options);
    const denoise = affineDenoiser(scale, shift);
    const rng = new GaussianRng(check.seed, check.stream);
    let violations = 0;
    for (let i = 0; i < check.trials; i++) {
      const x = new Float32Array(side * side).map(() => 0.5 + 0.15 * rng.nextGaussian());
      let d = b + shift * side * side;
      for (let j = 0; j < x.length; j++) d += scale * w[j] * x[j];
      const truth = Math.abs(d) / (scale * Math.hypot(...w));
      const shape = { channels: 1, height: side, width: side };
      // wrong order: smooth f around D(x) instead of smoothing f(D(.)) around x
      const c = await g.certify({ pixels: await denoise.run(x, 1, shape), index: i });
      if (c.prediction >= 0 && c.radius > truth) violations++;
    }
    assert.ok(violations > check.trials / 4, `only ${violations} violations`);
  });

  it('Smooth-Mean, correlated: the denoiser runs once per noisy sample on the resized image, and radii stay sound', async () => {
    const big = 6;
    const f = linearClassifier(w, b, side);
    const g = new SmoothedClassifier(new DenoisedClassifier(affineDenoiser(scale, shift), f), f.inputShape, {
      ...options,
      method: 'mean',
      resize: { height: big, width: big },
    });
    assert.deepEqual(g.denoising, { on: 'sample', shape: { channels: 1, height: big, width: big } });
    // mean over the 4 patches of w . patch + b, on D(R x + e): 3 (R^T u) . x + shift sum(u) + b
    const u = new Float64Array(big * big);
    for (const top of [0, 2])
      for (const left of [0, 2])
        for (let i = 0; i < side; i++)
          for (let j = 0; j < side; j++) u[(top + i) * big + left + j] += w[i * side + j] / 4;
    const rtu = new Float64Array(side * side);
    resizeMap(1, side, side, big, big, 'bilinear').mulTransposed(u, rtu);
    const sumU = u.reduce((a, v) => a + v, 0);
    await checkAgainstLinearTruth(
      g,
      rtu.map((v) => scale * v),
      b + shift * sumU,
      { ...check, minMeanRatio: 0.5 },
    );
  });

  it('runs on each model input where the smoothing space is not an image it takes', () => {
    const f = linearClassifier(w, b, side);
    const fixed = new DenoisedClassifier(affineDenoiser(1, 0, { height: side, width: side }), f);
    const reduce = { ...options, method: 'mean' as const, resize: { height: 6, width: 6 } };
    assert.deepEqual(new SmoothedClassifier(fixed, f.inputShape, reduce).denoising, {
      on: 'model-input',
      shape: f.inputShape,
    });
    const any = new DenoisedClassifier(affineDenoiser(1, 0), f);
    assert.equal(
      new SmoothedClassifier(any, f.inputShape, { ...reduce, noise: 'uncorrelated' }).denoising?.on,
      'model-input',
    );
  });

  it('refuses a denoiser that does not fit the classifier', () => {
    const f = linearClassifier(w, b, side);
    const rgb = { ...affineDenoiser(1, 0), channels: 3 };
    assert.throws(() => new DenoisedClassifier(rgb, f), /takes 3 channel\(s\) but the classifier takes 1/);
    const other = { ...affineDenoiser(1, 0), pixelRange: [0, 255] as const };
    assert.throws(
      () => new DenoisedClassifier(other, f),
      /pixel range \[0, 255\] but the classifier in \[0, 1\]/,
    );
    const small = affineDenoiser(1, 0, { height: 2, width: 2 });
    assert.throws(() => new DenoisedClassifier(small, f), /does not take the classifier's input size 1x4x4/);
  });
});

describe('denoised smoothing: one-shot diffusion', () => {
  it('the DDPM linear schedule and the timestep whose noise is sigma in the model range', () => {
    const abar = alphaBars({ betaSchedule: 'linear', steps: 1000 });
    assert.ok(Math.abs(abar[0] - (1 - 1e-4)) < 1e-12);
    // sigma 0.25 on [0, 1] pixels is 0.5 on [-1, 1]
    const step = diffusionStep(abar, [0, 1], [-1, 1], 0.25);
    assert.equal(step.sigmaModel, 0.5);
    const noise = (t: number) => Math.sqrt((1 - abar[t]) / abar[t]);
    assert.ok(noise(step.t - 1) < 0.5 && noise(step.t + 1) > 0.5, `t = ${step.t}`);
    assert.throws(
      () => diffusionStep(abar, [0, 1], [-1, 1], 100),
      /beyond its schedule's largest noise level/,
    );
  });

  const tmp = mkdtempSync(join(tmpdir(), 'sr-diffusion-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const writeEps = (name: string, factor: number) => {
    const dir = join(tmp, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.onnx'), affineImageModel(3, factor, 0, { timestep: true }));
    writeFileSync(
      join(dir, 'model.json'),
      JSON.stringify(
        denoiserCard(name, 3, 'diffusion-eps', {
          diffusion: { modelRange: [-1, 1], schedule: { betaSchedule: 'linear', steps: 1000 } },
        }),
      ),
    );
    return dir;
  };

  it('eps = 0 gives back the noisy image; eps = x_t gives the closed form, in the pixel range', async () => {
    const shape = { channels: 3, height: 5, width: 7 };
    const x = Float32Array.from({ length: 2 * 105 }, (_, i) => ((i * 37) % 101) / 100);
    const zero = await OnnxDenoiser.load(writeEps('zero', 0), { sigma: 0.5, threads: 1 });
    const same = await zero.run(x.slice(), 2, shape);
    for (let i = 0; i < x.length; i++)
      assert.ok(Math.abs(same[i] - x[i]) < 1e-5, `${i}: ${same[i]} vs ${x[i]}`);
    const echo = await OnnxDenoiser.load(writeEps('echo', 1), { sigma: 0.5, threads: 1 });
    const s = echo.step!;
    const out = await echo.run(x.slice(), 2, shape);
    for (let i = 0; i < x.length; i++) {
      const xt = Math.sqrt(s.alphaBar) * (2 * x[i] - 1);
      const x0 = (xt - Math.sqrt(1 - s.alphaBar) * xt) / Math.sqrt(s.alphaBar);
      assert.ok(Math.abs(out[i] - (x0 + 1) / 2) < 1e-5);
    }
    await zero.dispose();
    await echo.dispose();
  });
});

function denoiserCard(name: string, channels: number, kind = 'direct', extra: object = {}) {
  return {
    format: 'smooth-reduce-denoiser-card',
    version: 1,
    name,
    kind,
    input: {
      layout: 'NCHW',
      shape: [channels, 28, 28],
      anySize: true,
      pixelRange: [0, 1],
      channelOrder: 'gray',
    },
    ...extra,
  };
}

describe('denoised smoothing: command line', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'sr-denoiser-cli-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const model = join(tmp, 'centroid.onnx');
  before(() => writeCentroidModel(model));
  const writeDenoiser = (name: string, scale: number, shift: number, channels = 1, extra: object = {}) => {
    const dir = join(tmp, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.onnx'), affineImageModel(channels, scale, shift));
    writeFileSync(join(dir, 'model.json'), JSON.stringify(denoiserCard(name, channels, 'direct', extra)));
    return dir;
  };
  const SMALL = ['--data', SAMPLE, '--max', '4', '--n0', '10', '--n', '60', '--threads', '1', '--quiet'];
  const oneLine = (r: { code: number | null; stderr: string }, pattern: RegExp) => {
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], pattern);
  };

  for (const method of ['rs', 'mean'] as const) {
    it(`${method}: an identity denoiser leaves every log line as the run without one, and the manifest names it`, async () => {
      const identity = writeDenoiser(`identity-${method}`, 1, 0);
      const plain = join(tmp, `plain-${method}.tsv`);
      const denoised = join(tmp, `denoised-${method}.tsv`);
      const args = ['certify', '--model', model, ...SMALL, '--method', method];
      assert.equal((await cli([...args, '--out', plain])).code, 0);
      const r = await cli([...args, '--denoiser', identity, '--out', denoised]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(withoutTime(denoised), withoutTime(plain));
      const m = readManifest(`${denoised}.manifest.json`);
      assert.equal(m.denoiser?.path, join(identity, 'model.onnx'));
      assert.match(m.denoiser?.sha256 ?? '', /^[0-9a-f]{64}$/);
      const d = m.options.denoiser as { on: string; shape: string; kind: string };
      assert.equal(d.kind, 'direct');
      assert.equal(d.on, 'sample');
      assert.equal(d.shape, method === 'rs' ? '1x28x28' : '1x32x32');
      assert.match(m.label, /denoiser identity-/);
    });
  }

  it('verify re-runs a denoised log through its denoiser, and tells another denoiser apart', async () => {
    const log = join(tmp, 'denoised-rs.tsv');
    const identity = join(tmp, 'identity-rs');
    const base = ['verify', log, '--model', model, '--data', SAMPLE, '--threads', '1'];
    const args = [...base, '--denoiser', identity, '--resample', '2', '--resample-seed', '1'];
    const ok = await cli(args);
    assert.equal(ok.code, 0, args.join(' ') + '\n' + ok.stdout + ok.stderr);
    assert.match(ok.stdout, /PASS denoiser: .*identity-rs/);
    assert.match(ok.stdout, /PASS resample: 2 input\(s\) re-run/);
    oneLine(
      await cli([...base, '--resample', '1']),
      /the run used the denoiser .*: --resample needs --denoiser/,
    );
    const other = writeDenoiser('other-rs', 1, 0.5);
    const wrong = await cli([...base, '--denoiser', other]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stdout, /FAIL denoiser: .*other-rs.*the run's denoiser/);
  });

  it('a log resumed with another denoiser is refused; mismatched denoisers are one-line errors', async () => {
    const first = writeDenoiser('first', 1, 0);
    const second = writeDenoiser('second', 1, 0.001);
    const out = join(tmp, 'resume.tsv');
    const args = ['certify', '--model', model, ...SMALL, '--out', out];
    assert.equal((await cli([...args, '--max', '2', '--denoiser', first])).code, 0);
    oneLine(await cli([...args, '--denoiser', second]), /belongs to another run \(options\.denoiser\.sha256/);
    oneLine(await cli(args), /belongs to another run \(options\.denoiser/);
    const rgb = writeDenoiser('rgb', 1, 0, 3);
    oneLine(
      await cli([...args.slice(0, -2), '--out', join(tmp, 'x.tsv'), '--denoiser', rgb]),
      /denoiser rgb takes 3 channel\(s\) but the classifier takes 1/,
    );
    const classifierDir = join(tmp, 'classifier-folder');
    mkdirSync(classifierDir);
    writeFileSync(join(classifierDir, 'model.onnx'), readFileSync(model));
    writeFileSync(
      join(classifierDir, 'model.json'),
      JSON.stringify({
        format: 'smooth-reduce-model-card',
        version: 1,
        name: 'clean',
        input: {
          layout: 'NCHW',
          shape: [1, 28, 28],
          pixelRange: [0, 1],
          channelOrder: 'gray',
          normalization: null,
        },
        classes: Array.from({ length: 10 }, (_, i) => String(i)),
        training: { sigma: 0, dataset: 'test' },
      }),
    );
    oneLine(
      await cli([...args.slice(0, -2), '--out', join(tmp, 'y.tsv'), '--denoiser', classifierDir]),
      /is not a denoiser card .*is .* a classifier\?/,
    );
    // warnings: a model trained without noise and no denoiser; a denoiser trained for another sigma
    const loud = SMALL.filter((a) => a !== '--quiet');
    const clean = await cli([
      'certify',
      '--model',
      classifierDir,
      ...loud,
      '--max',
      '1',
      '--out',
      join(tmp, 'w1.tsv'),
    ]);
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(clean.stderr, /warning: clean was trained without noise .*--denoiser/);
    const s050 = writeDenoiser('s050', 1, 0, 1, { sigma: 0.5 });
    const withS050 = ['certify', '--model', classifierDir, ...loud, '--max', '1', '--denoiser', s050];
    // the default sigma is the one the denoiser was trained for
    const defaulted = await cli([...withS050, '--out', join(tmp, 'w2.tsv')]);
    assert.equal(defaulted.code, 0, defaulted.stderr);
    assert.match(
      defaulted.stderr,
      /sigma = 0\.5, the sigma the denoiser s050 was trained for \(denoiser card\)/,
    );
    assert.doesNotMatch(defaulted.stderr, /warning/);
    const other = await cli([...withS050, '--sigma', '0.25', '--out', join(tmp, 'w3.tsv')]);
    assert.equal(other.code, 0, other.stderr);
    assert.match(
      other.stderr,
      /warning: the denoiser s050 was trained for sigma 0\.5, this run uses sigma 0\.25/,
    );
    assert.doesNotMatch(other.stderr, /trained without noise/);
  });
});

describe('denoised smoothing: HTTP API', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'sr-denoiser-serve-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const MODEL = join(REPO, 'models', 'fmnist-cnn-s025');
  let service: Service;
  let base: string;
  before(async () => {
    const identity = join(tmp, 'identity-gray');
    mkdirSync(identity);
    writeFileSync(join(identity, 'model.onnx'), affineImageModel(1, 1, 0));
    writeFileSync(join(identity, 'model.json'), JSON.stringify(denoiserCard('identity-gray', 1)));
    const rgb = join(tmp, 'identity-rgb');
    mkdirSync(rgb);
    writeFileSync(join(rgb, 'model.onnx'), affineImageModel(3, 1, 0));
    writeFileSync(join(rgb, 'model.json'), JSON.stringify(denoiserCard('identity-rgb', 3)));
    service = await createService({ models: [MODEL], denoisers: [identity, rgb], workers: 1, webRoot: null });
    base = await service.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => service.close());

  const certify = async (body: object) => {
    const r = await fetch(`${base}/v1/certify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: r.status, json: (await r.json()) as Record<string, unknown> };
  };

  it('certifies through a denoiser, says which, and lists the denoisers', async () => {
    const x = await new IdxDataset(join(SAMPLE, 't10k-images-idx3-ubyte.gz')).get(0);
    const request = { pixels: Array.from(x.pixels), n0: 20, n: 200, sigma: 0.25 };
    const plain = await certify(request);
    const denoised = await certify({ ...request, denoiser: 'identity-gray' });
    assert.equal(denoised.status, 200, JSON.stringify(denoised.json));
    assert.deepEqual((denoised.json.denoiser as { id: string }).id, 'identity-gray');
    assert.equal(plain.json.denoiser, null);
    // the identity denoiser changes no vote
    assert.equal(denoised.json.radius, plain.json.radius);
    assert.deepEqual(denoised.json.counts, plain.json.counts);
    const unknown = await certify({ ...request, denoiser: 'nope' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error, 'unknown_denoiser');
    const mismatch = await certify({ ...request, denoiser: 'identity-rgb' });
    assert.equal(mismatch.status, 400);
    assert.match(String(mismatch.json.message), /takes 3 channel\(s\) but the classifier takes 1/);
    const listed = (await (await fetch(`${base}/v1/models`)).json()) as {
      denoisers: { id: string; kind: string }[];
    };
    assert.deepEqual(
      listed.denoisers.map((d) => [d.id, d.kind]),
      [
        ['identity-gray', 'direct'],
        ['identity-rgb', 'direct'],
      ],
    );
  });
});

describe('denoised smoothing: over the queue', { skip: redisMissing ?? false }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'sr-denoiser-queue-'));
  const model = join(tmp, 'centroid.onnx');
  let server: RedisServer;
  let worker: RunningWorker;
  before(async () => {
    await writeCentroidModel(model);
    server = await RedisServer.start();
    worker = await startWorker({ url: server.url, device: 'cpu', threads: 1, models: [], log: () => {} });
  });
  after(async () => {
    await worker?.close();
    await server?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('a --denoiser run over the queue writes the log a local run writes', async () => {
    const dir = join(tmp, 'shrink');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.onnx'), affineImageModel(1, 0.9, 0.05));
    writeFileSync(join(dir, 'model.json'), JSON.stringify(denoiserCard('shrink', 1)));
    const args = (out: string) => [
      'certify',
      '--model',
      model,
      '--denoiser',
      dir,
      '--data',
      SAMPLE,
      '--max',
      '4',
      '--n0',
      '10',
      '--n',
      '100',
      '--method',
      'mean',
      '--quiet',
      '--out',
      out,
    ];
    const local = join(tmp, 'local.tsv');
    const queued = join(tmp, 'queued.tsv');
    assert.equal((await cli([...args(local), '--threads', '1'])).code, 0);
    const r = await cli([...args(queued), '--queue', server.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(withoutTime(queued), withoutTime(local));
    assert.deepEqual(
      readManifest(`${queued}.manifest.json`).options.denoiser,
      readManifest(`${local}.manifest.json`).options.denoiser,
    );
  });
});
