/**
 * The library entry point: certify / predict on an ONNX model give the same certificate as the
 * run loop that writes the CLI's log, for the same input index, seed and options; the run loop
 * takes any Classifier.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  OnnxClassifier,
  SmoothedClassifier,
  certify,
  defaultSmoothingOptions,
  openDataset,
  predict,
  type Dataset,
} from '../src/index.js';
import { readManifest } from '../src/io/manifest.js';
import { CERTIFY_COLUMNS, certifyFields } from '../src/io/tsv-log.js';
import { runCertification } from '../src/run/certify-run.js';
import { GaussianRng } from '../src/core/rng.js';
import { linearClassifier } from './helpers/linear-classifier.js';
import { linearModel } from './helpers/onnx-models.js';

const tmp = mkdtempSync(join(tmpdir(), 'sr-lib-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const silent = { start() {}, input() {}, finish() {} };

test('library certify/predict equal the run loop (CLI log) line for line', async () => {
  const rng = new GaussianRng(9, 0);
  const d = 28 * 28;
  const model = join(tmp, 'linear.onnx');
  writeFileSync(
    model,
    linearModel(
      [1, 28, 28],
      Array.from({ length: 10 * d }, () => rng.nextGaussian() * 0.05),
      Array.from({ length: 10 }, () => 0),
    ),
  );
  const f = await OnnxClassifier.load(model, { threads: 1 });
  const data = openDataset('data/fashion-mnist-sample');
  const options = { sigma: 0.25, n0: 20, n: 200, alpha: 0.001, batch: 64, seed: 3, method: 'mean' as const };
  const out = join(tmp, 'run.tsv');
  await runCertification(
    {
      command: 'certify',
      classifier: f,
      model: f,
      dataset: data,
      dataSpec: 'data/fashion-mnist-sample',
      options: {
        ...options,
        resize: { height: 32, width: 32 },
        stride: 2,
        resizeMode: 'bilinear',
        maxPatches: undefined,
        randomPatches: false,
        noise: 'correlated',
        aggregate: 'logits',
      },
      selection: { skip: 1, max: 3, shard: null },
      out,
      device: 'cpu',
      threads: 1,
    },
    silent,
  );
  const lines = readFileSync(out, 'utf8').trim().split('\n').slice(1);
  assert.equal(lines.length, 3);
  for (const [i, line] of lines.entries()) {
    const input = await data.get(i);
    const c = await certify(
      f,
      { pixels: input.pixels, index: i, shape: data.shape },
      { ...options, resize: { height: 32, width: 32 } },
    );
    const cols = line.split('\t');
    assert.equal(Number(cols[2]), c.prediction);
    assert.ok(Math.abs(Number(cols[3]) - c.radius) < 1e-5, `${cols[3]} vs ${c.radius}`);
    assert.equal(Number(cols[8]), c.nA);
    const p = await predict(
      f,
      { pixels: input.pixels, index: i, shape: data.shape },
      { ...options, resize: { height: 32, width: 32 } },
    );
    assert.equal(
      p.counts.reduce((a, b) => a + b, 0),
      options.n,
    );
  }
  await f.dispose();
});

test('the run loop takes any Classifier and the model identity it is given (no ONNX)', async () => {
  const side = 6;
  const w = Float32Array.from({ length: side * side }, (_, i) => (i % 2 === 0 ? 1 : -1));
  const f = linearClassifier(w, 0.1, side);
  const images = Array.from({ length: 5 }, (_, k) =>
    Float32Array.from({ length: side * side }, (_, i) => ((i * 7 + k * 3) % 11) / 10),
  );
  const dataset: Dataset = {
    description: 'five synthetic images',
    shape: f.inputShape,
    size: images.length,
    get: async (index) => ({ index, label: index % 2, pixels: images[index].slice() }),
  };
  const options = { ...defaultSmoothingOptions, n0: 20, n: 300, batch: 32, seed: 5 };
  const model = { path: 'in-memory', sha256: 'f'.repeat(64), card: { name: 'linear' } };
  const request = {
    command: 'certify' as const,
    classifier: f,
    model,
    dataset,
    dataSpec: 'synthetic',
    options,
    selection: { skip: 1, max: -1, shard: null },
    out: join(tmp, 'linear.tsv'),
    device: 'cpu',
    threads: null,
  };
  const first = await runCertification(request, silent);
  assert.deepEqual([first.total, first.resumed], [5, 0]);
  const manifest = readManifest(`${request.out}.manifest.json`);
  assert.deepEqual(manifest.model, { path: 'in-memory', sha256: model.sha256, name: 'linear' });
  const lines = readFileSync(request.out, 'utf8').trim().split('\n');
  assert.equal(lines[0], CERTIFY_COLUMNS.join('\t'));
  const g = new SmoothedClassifier(f, dataset.shape, options);
  for (const [i, line] of lines.slice(1).entries()) {
    const input = await dataset.get(i);
    const expected = certifyFields({ idx: i, label: input.label, seconds: 0, ...(await g.certify(input)) });
    const withoutTime = (fields: string[]) => fields.filter((_, k) => CERTIFY_COLUMNS[k] !== 'time');
    assert.deepEqual(withoutTime(line.split('\t')), withoutTime(expected));
  }
  const again = await runCertification(request, silent);
  assert.deepEqual([again.total, again.resumed], [5, 5]);
  assert.equal(readFileSync(request.out, 'utf8').trim().split('\n').length, 6);
});
