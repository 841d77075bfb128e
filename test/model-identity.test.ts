/**
 * A model's identity covers everything that decides f (issue 24, points 1 and 2): the .onnx, the
 * external data files its graph names (resolved against the model's folder, never the working
 * directory, and confined to it) and the model card. Resume and merge refuse a run whose card or
 * external data changed, with one line; manifests written before the identity existed are refused
 * on resume with one line.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import onnxProto from 'onnx-proto';
import { UsageError } from '../src/core/errors.js';
import { OnnxClassifier } from '../src/models/onnx-classifier.js';
import { modelIdentity } from '../src/models/model-identity.js';
import { SAMPLE, cliInProcess, writeCentroidModel } from './helpers/cli.js';

const { onnx } = onnxProto;
const tmp = mkdtempSync(join(tmpdir(), 'sr-identity-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const card = (normalization: { mean: number[]; std: number[] } | null, extra: object = {}) => ({
  format: 'smooth-reduce-model-card',
  version: 2,
  name: 'centroid',
  input: { layout: 'NCHW', shape: [1, 28, 28], pixelRange: [0, 1], channelOrder: 'gray', normalization },
  classes: Array.from({ length: 10 }, (_, i) => String(i)),
  ...extra,
});

/** The model with its weight matrix W moved to the external data file `location`. */
function externalize(bytes: Uint8Array, location: string): { model: Uint8Array; weights: Buffer } {
  const m = onnx.ModelProto.decode(bytes);
  const W = m.graph!.initializer!.find((t) => t.name === 'W')!;
  const weights = Buffer.from(Float32Array.from(W.floatData!).buffer);
  W.floatData = [];
  W.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
  W.externalData = [
    { key: 'location', value: location },
    { key: 'offset', value: '0' },
    { key: 'length', value: String(weights.length) },
  ];
  return { model: onnx.ModelProto.encode(m).finish(), weights };
}

const inline = join(tmp, 'inline.onnx');
const folder = join(tmp, 'external');
const elsewhere = join(tmp, 'elsewhere');
before(async () => {
  await writeCentroidModel(inline);
  mkdirSync(folder);
  mkdirSync(elsewhere);
  const { model, weights } = externalize(readFileSync(inline), 'weights.bin');
  writeFileSync(join(folder, 'model.onnx'), model);
  writeFileSync(join(folder, 'weights.bin'), weights);
  // a decoy in the working directory: another model's weights under the same name
  writeFileSync(join(elsewhere, 'weights.bin'), Buffer.alloc(weights.length, 0x3f));
});

const fast = [
  '--data',
  SAMPLE,
  '--max',
  '4',
  '--n0',
  '10',
  '--n',
  '100',
  '--batch',
  '50',
  '--threads',
  '1',
  '--quiet',
];

/** scores of 3 test images */
async function scores(model: string): Promise<Float32Array> {
  const c = await OnnxClassifier.load(model, { threads: 1 });
  const x = new Float32Array(3 * 784).map((_, i) => ((i * 37) % 101) / 100);
  const out = Float32Array.from(await c.run(x, 3));
  await c.dispose();
  return out;
}

describe('external data', () => {
  it('is read from the model folder, whatever the working directory, and named in the identity', async () => {
    const expected = await scores(inline);
    const cwd = process.cwd();
    try {
      process.chdir(elsewhere);
      assert.deepEqual(await scores(folder), expected);
      process.chdir(tmp);
      assert.deepEqual(await scores(join(folder, 'model.onnx')), expected);
    } finally {
      process.chdir(cwd);
    }
    const c = await OnnxClassifier.load(folder, { threads: 1 });
    assert.equal(c.externalData.length, 1);
    assert.equal(c.externalData[0].path, 'weights.bin');
    assert.match(c.externalData[0].sha256, /^[0-9a-f]{64}$/);
    await c.dispose();
  });

  it('outside the model folder (a parent path, an absolute path, a link) is refused with one line', async () => {
    const bytes = readFileSync(inline);
    const cases: [string, string, () => void][] = [
      ['parent', '../elsewhere/weights.bin', () => {}],
      ['absolute', join(elsewhere, 'weights.bin'), () => {}],
      [
        'link',
        'linked.bin',
        () => symlinkSync(join(elsewhere, 'weights.bin'), join(tmp, 'link', 'linked.bin')),
      ],
    ];
    for (const [name, location, setup] of cases) {
      const dir = join(tmp, name);
      mkdirSync(dir);
      writeFileSync(join(dir, 'model.onnx'), externalize(bytes, location).model);
      setup();
      for (const load of [() => OnnxClassifier.load(dir, { threads: 1 }), async () => modelIdentity(dir)]) {
        await assert.rejects(load, (e: Error) => {
          assert.ok(e instanceof UsageError, `${name}: ${e.message}`);
          assert.match(e.message, /external data .* (lies|links) outside the model's folder/, name);
          assert.doesNotMatch(e.message, /\n/);
          return true;
        });
      }
    }
  });
});

describe('modelIdentity', () => {
  it('covers the .onnx, the external data and the card fields that change the computation', () => {
    const dir = join(tmp, 'identity');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.onnx'), readFileSync(join(folder, 'model.onnx')));
    writeFileSync(join(dir, 'weights.bin'), readFileSync(join(folder, 'weights.bin')));
    const bare = modelIdentity(dir);
    assert.equal(bare.cardSha256, null);
    writeFileSync(join(dir, 'model.json'), JSON.stringify(card(null)));
    const a = modelIdentity(dir);
    assert.match(a.cardSha256 ?? '', /^[0-9a-f]{64}$/);
    assert.equal(a.sha256, bare.sha256);
    // documentation only (name, metrics): the same identity
    writeFileSync(
      join(dir, 'model.json'),
      JSON.stringify(
        card(null, { name: 'renamed', metrics: { testImages: 1, cleanAccuracy: 1, noisyAccuracy: 1 } }),
      ),
    );
    assert.deepEqual(modelIdentity(dir), a);
    writeFileSync(join(dir, 'model.json'), JSON.stringify(card({ mean: [0.5], std: [0.25] })));
    assert.notEqual(modelIdentity(dir).cardSha256, a.cardSha256);
    writeFileSync(join(dir, 'model.json'), JSON.stringify(card(null)));
    const weights = readFileSync(join(dir, 'weights.bin'));
    weights[0] ^= 1;
    writeFileSync(join(dir, 'weights.bin'), weights);
    const b = modelIdentity(dir);
    assert.equal(b.sha256, a.sha256);
    assert.notEqual(b.externalData[0].sha256, a.externalData[0].sha256);
  });
});

describe('resume and merge check the whole identity', () => {
  const modelDir = join(tmp, 'carded');
  before(() => {
    mkdirSync(modelDir);
    writeFileSync(join(modelDir, 'model.onnx'), readFileSync(inline));
    writeFileSync(join(modelDir, 'model.json'), JSON.stringify(card(null)));
  });
  const oneLine = (r: { code: number | null; stderr: string }, pattern: RegExp) => {
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, pattern);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  };

  it('a run resumed with a changed card is refused with one line', async () => {
    const out = join(tmp, 'card-resume.tsv');
    const r = await cliInProcess(['certify', '--model', modelDir, ...fast, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const manifest = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8'));
    assert.match(manifest.model.cardSha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(manifest.model.externalData, []);
    // cut to 2 inputs, then the card gains a normalisation
    const lines = readFileSync(out, 'utf8').split('\n');
    writeFileSync(out, lines.slice(0, 3).join('\n') + '\n');
    writeFileSync(join(modelDir, 'model.json'), JSON.stringify(card({ mean: [0.2], std: [0.5] })));
    try {
      oneLine(
        await cliInProcess(['certify', '--model', modelDir, ...fast, '--out', out]),
        /^smooth-reduce: .*card-resume\.tsv belongs to another run \(model\.cardSha256: /,
      );
    } finally {
      writeFileSync(join(modelDir, 'model.json'), JSON.stringify(card(null)));
    }
    // the same card again: resumes
    const again = await cliInProcess(['certify', '--model', modelDir, ...fast, '--out', out]);
    assert.equal(again.code, 0, again.stderr);
  });

  it('a run resumed with changed external data is refused, from any working directory', async () => {
    const dir = join(tmp, 'external-run');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.onnx'), readFileSync(join(folder, 'model.onnx')));
    writeFileSync(join(dir, 'weights.bin'), readFileSync(join(folder, 'weights.bin')));
    const out = join(tmp, 'external-resume.tsv');
    const cwd = process.cwd();
    try {
      process.chdir(elsewhere);
      const r = await cliInProcess(['certify', '--model', dir, ...fast, '--out', out]);
      assert.equal(r.code, 0, r.stderr);
      const local = await cliInProcess([
        'certify',
        '--model',
        inline,
        ...fast,
        '--out',
        join(tmp, 'inline.tsv'),
      ]);
      assert.equal(local.code, 0, local.stderr);
      const predictions = (file: string) =>
        readFileSync(file, 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.split('\t').slice(0, 4).join('\t'));
      assert.deepEqual(predictions(out), predictions(join(tmp, 'inline.tsv')));
      const lines = readFileSync(out, 'utf8').split('\n');
      writeFileSync(out, lines.slice(0, 3).join('\n') + '\n');
      const weights = readFileSync(join(dir, 'weights.bin'));
      weights[5] ^= 1;
      writeFileSync(join(dir, 'weights.bin'), weights);
      oneLine(
        await cliInProcess(['certify', '--model', dir, ...fast, '--out', out]),
        /belongs to another run \(model\.externalData\.0\.sha256: /,
      );
    } finally {
      process.chdir(cwd);
    }
  });

  it('a manifest from before the identity is refused on resume with one line', async () => {
    const out = join(tmp, 'old-manifest.tsv');
    const r = await cliInProcess(['certify', '--model', modelDir, ...fast, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const path = `${out}.manifest.json`;
    const manifest = JSON.parse(readFileSync(path, 'utf8'));
    delete manifest.model.cardSha256;
    delete manifest.model.externalData;
    writeFileSync(path, JSON.stringify(manifest));
    oneLine(
      await cliInProcess(['certify', '--model', modelDir, ...fast, '--out', out]),
      /old-manifest\.tsv: its manifest was written by an earlier smooth-reduce that did not record the model card/,
    );
  });

  it('merge refuses shards certified with different cards', async () => {
    const other = join(tmp, 'carded-2');
    mkdirSync(other);
    writeFileSync(join(other, 'model.onnx'), readFileSync(inline));
    writeFileSync(join(other, 'model.json'), JSON.stringify(card({ mean: [0.2], std: [0.5] })));
    const a = join(tmp, 'shard-1.tsv');
    const b = join(tmp, 'shard-2.tsv');
    for (const [model, out, shard] of [
      [modelDir, a, '0/2'],
      [other, b, '1/2'],
    ]) {
      const r = await cliInProcess(['certify', '--model', model, ...fast, '--shard', shard, '--out', out]);
      assert.equal(r.code, 0, r.stderr);
    }
    oneLine(
      await cliInProcess(['merge', a, b, '--out', join(tmp, 'merged.tsv')]),
      /shards of different runs \(model\.cardSha256: /,
    );
  });
});
