/**
 * Bad input refused with one line: exit 2, `smooth-reduce: ...` naming the file or option, no stack
 * trace, and (unless said otherwise) nothing written at --out: each case of issue 13, section 4, as a
 * hostile-but-realistic user tries it with tiny models.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { UsageError } from '../src/core/errors.js';
import { parseIdx } from '../src/data/idx.js';
import { parseLog } from '../src/io/log-format.js';
import { PatchReducer } from '../src/reduce/reducer.js';
import { defaultSmoothingOptions, validateSmoothingOptions } from '../src/options.js';
import { type CliResult, cliInProcess, finished, spawnCli } from './helpers/cli.js';
import { type ProbeModelKind, linearModel, probeModel } from './helpers/onnx-models.js';
import { writePng } from './fixtures/data/make.js';

const tmp = mkdtempSync(join(tmpdir(), 'sr-refuse-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const SIDE = 4;

/** An IDX images file of `n` SIDE x SIDE images (and its labels file beside it). */
function writeIdx(
  dir: string,
  labels: number[],
  pixel = (i: number, j: number) => (i * 37 + j * 11) % 256,
): string {
  mkdirSync(dir, { recursive: true });
  const n = labels.length;
  const header = (magic: number, dims: number[]) => {
    const b = Buffer.alloc(4 + 4 * dims.length);
    b.writeUInt32BE(magic);
    dims.forEach((d, k) => b.writeUInt32BE(d, 4 + 4 * k));
    return b;
  };
  const pixels = Buffer.alloc(n * SIDE * SIDE);
  for (let i = 0; i < n; i++) for (let j = 0; j < SIDE * SIDE; j++) pixels[i * SIDE * SIDE + j] = pixel(i, j);
  const images = join(dir, 't10k-images-idx3-ubyte');
  writeFileSync(images, Buffer.concat([header(0x803, [n, SIDE, SIDE]), pixels]));
  writeFileSync(
    join(dir, 't10k-labels-idx1-ubyte'),
    Buffer.concat([header(0x801, [n]), Buffer.from(labels)]),
  );
  return images;
}

const idx = join(tmp, 'idx');
const model = join(tmp, 'linear.onnx');
before(() => {
  writeIdx(idx, [0, 1, 0, 1, 1, 0]);
  const d = SIDE * SIDE;
  writeFileSync(
    model,
    linearModel([1, SIDE, SIDE], [...new Array(d).fill(0), ...new Array(d).fill(1 / d)], [0, -0.3]),
  );
});

let outs = 0;
const base = (extra: string[], out = join(tmp, `out-${outs++}.tsv`)) => [
  'certify',
  '--model',
  model,
  '--data',
  idx,
  '--sigma',
  '0.25',
  '--n0',
  '10',
  '--n',
  '100',
  '--threads',
  '1',
  '--quiet',
  '--out',
  out,
  ...extra,
];
const outOf = (args: string[]) => args[args.indexOf('--out') + 1];

/** Exit 2, one line naming what it should, no stack trace, nothing at --out. */
function assertRefused(r: CliResult, pattern: RegExp, out?: string): void {
  assert.equal(r.code, 2, `exit ${r.code}: ${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `not one line:\n${r.stderr}`);
  assert.match(lines[0], /^smooth-reduce: /);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  if (out) {
    assert.ok(!existsSync(out), `${out} was written`);
    assert.ok(!existsSync(`${out}.manifest.json`), `${out}.manifest.json was written`);
  }
}

async function refused(args: string[], pattern: RegExp): Promise<void> {
  assertRefused(await cliInProcess(args), pattern, outOf(args));
}

describe('refused: models', () => {
  const cases: [ProbeModelKind, RegExp][] = [
    ['nan', /non-finite/],
    ['one-class', /\[2, 1\].*two classes/],
    ['rank-1', /\[2\].*two classes/],
    ['two-outputs', /2 outputs \(logits, copy\)/],
    ['two-inputs', /2 inputs \(input, second\)/],
    ['fixed-batch-reshape', /forward pass/],
  ];
  for (const [kind, pattern] of cases) {
    it(`a ${kind} model, at load`, async () => {
      const path = join(tmp, `${kind}.onnx`);
      writeFileSync(path, probeModel(kind, SIDE));
      const args = base([]);
      args[args.indexOf('--model') + 1] = path;
      await refused(args, new RegExp(`${path.replace(/[.]/g, '\\.')}.*`));
      await refused(args, pattern);
    });
  }

  it('a model whose scores turn NaN only under noise: no line is logged from it', async () => {
    const path = join(tmp, 'sqrt.onnx');
    writeFileSync(path, probeModel('sqrt', SIDE));
    const grey = join(tmp, 'grey');
    writeIdx(grey, [1, 1], () => 128);
    const out = join(tmp, 'sqrt.tsv');
    const r = await cliInProcess([...base([]).slice(0, -2), '--model', path, '--data', grey, '--out', out]);
    assertRefused(r, /non-finite score \(NaN\)/);
    assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 1, 'a line was logged');
  });

  it('the card pixel range is applied: a [0, 255] model gets [0, 255] pixels', async () => {
    const dir = join(tmp, 'range255');
    mkdirSync(dir);
    const d = SIDE * SIDE;
    // class 1 when the mean pixel exceeds 100: only in the [0, 255] scale for a mid-grey image
    writeFileSync(
      join(dir, 'model.onnx'),
      linearModel([1, SIDE, SIDE], [...new Array(d).fill(0), ...new Array(d).fill(1 / d)], [0, -100]),
    );
    const card = {
      format: 'smooth-reduce-model-card',
      version: 1,
      name: 'range255',
      input: {
        layout: 'NCHW',
        shape: [1, SIDE, SIDE],
        pixelRange: [0, 255],
        channelOrder: 'gray',
        normalization: null,
      },
      classes: ['dark', 'bright'],
    };
    writeFileSync(join(dir, 'model.json'), JSON.stringify(card));
    const grey = join(tmp, 'grey128');
    writeIdx(grey, [1, 1], () => 128);
    const out = join(tmp, 'range255.tsv');
    const args = base(['--sigma', '8']);
    args[args.indexOf('--model') + 1] = dir;
    args[args.indexOf('--data') + 1] = grey;
    args[args.indexOf('--out') + 1] = out;
    const r = await cliInProcess(args);
    assert.equal(r.code, 0, r.stderr);
    const predictions = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split('\t')[2]);
    assert.deepEqual(predictions, ['1', '1']);
  });
});

describe('refused: data', () => {
  it('labels beyond the model classes (IDX), and a folder with more classes than the model', async () => {
    const bad = join(tmp, 'labels11');
    writeIdx(bad, [0, 1, 11]);
    const args = base([]);
    args[args.indexOf('--data') + 1] = bad;
    await refused(args, /input 2 .* has label 11, but the model has 2 classes/);
    const folder = join(tmp, 'three-classes');
    for (const c of ['a', 'b', 'c']) await writePng(join(folder, c, '0.png'), SIDE, SIDE, () => 100, 1);
    args[args.indexOf('--data') + 1] = folder;
    await refused([...args, '--channels', '1'], /has 3 classes but the model has 2/);
  });

  it('IDX files of 0x0 images, and a truncated .gz named in the message', async () => {
    const empty = join(tmp, 'zero');
    mkdirSync(empty);
    const hdr = Buffer.alloc(16);
    hdr.writeUInt32BE(0x803);
    hdr.writeUInt32BE(2, 4);
    writeFileSync(join(empty, 't10k-images-idx3-ubyte'), hdr);
    const lab = Buffer.alloc(10);
    lab.writeUInt32BE(0x801);
    lab.writeUInt32BE(2, 4);
    writeFileSync(join(empty, 't10k-labels-idx1-ubyte'), lab);
    const args = base(['--method', 'mean', '--resize', '32']);
    args[args.indexOf('--data') + 1] = empty;
    await refused(args, /2 x 0 x 0 images: nothing to certify/);
    const gz = join(tmp, 'gz');
    mkdirSync(gz);
    const whole = gzipSync(readFileSync(join(idx, 't10k-images-idx3-ubyte')));
    writeFileSync(join(gz, 't10k-images-idx3-ubyte.gz'), whole.subarray(0, whole.length - 20));
    writeFileSync(
      join(gz, 't10k-labels-idx1-ubyte.gz'),
      gzipSync(readFileSync(join(idx, 't10k-labels-idx1-ubyte'))),
    );
    args[args.indexOf('--data') + 1] = gz;
    await refused(args, /t10k-images-idx3-ubyte\.gz: truncated or corrupt gzip/);
  });

  it('an image folder with a symbolic link loop', async () => {
    const folder = join(tmp, 'loop');
    for (const c of ['c0', 'c1']) await writePng(join(folder, c, '0.png'), SIDE, SIDE, () => 50, 1);
    symlinkSync('..', join(folder, 'c0', 'up'));
    const args = base(['--channels', '1']);
    args[args.indexOf('--data') + 1] = folder;
    await refused(args, /c0\/up: a symbolic link .* loops back/);
  });

  it('a truncated PNG and a huge one are found from their headers before any input is certified', async () => {
    const folder = join(tmp, 'pngs');
    for (let i = 0; i < 3; i++) await writePng(join(folder, 'c0', `${i}.png`), SIDE, SIDE, () => 60 * i, 1);
    await writePng(join(folder, 'c1', '0.png'), SIDE, SIDE, () => 200, 1);
    const last = join(folder, 'c1', '0.png');
    const bytes = readFileSync(last);
    writeFileSync(last, bytes.subarray(0, bytes.length - 16));
    const args = base(['--channels', '1']);
    args[args.indexOf('--data') + 1] = folder;
    await refused(args, /c1\/0\.png: truncated image/);
    // a 20000 x 20000 PNG header (IHDR only, then IEND): refused from the header, never decoded
    const huge = Buffer.from(bytes);
    huge.writeUInt32BE(20000, 16);
    huge.writeUInt32BE(20000, 20);
    writeFileSync(last, huge);
    await refused(args, /c1\/0\.png: 20000x20000 image/);
  });
});

describe('refused: options', () => {
  const cases: [string[], RegExp][] = [
    [['--n', String(2 ** 32)], /--n must be an integer in \[1, 4294967295\]/],
    [['--batch', '1e12'], /--batch must be an integer/],
    [['--method', 'mean', '--resize', '5000'], /--resize 5000x5000 is too large/],
    [['--threads', '1000000000'], /--threads must be an integer in \[1, 1024\]/],
    [['--stride', '1'], /--stride applies to Smooth-Reduce only/],
    [['--max-patches', '3'], /--max-patches applies to Smooth-Reduce only/],
    [['--pad', '2'], /--pad applies to Smooth-Reduce only/],
    [['--method', 'mean', '--pad', '2', '--resize', '36'], /--pad and --resize are alternatives/],
    [['--method', 'mean', '--pad', '1.5'], /--pad must be a whole number of pixels >= 0, got 1\.5/],
    [['--method', 'mean', '--pad', '1024'], /--pad 1024 gives a \d+x\d+ canvas, which is too large/],
    [
      ['--sigma', '1e9'],
      /--sigma must be at most 4, 4 times the model's pixel range \[0, 1\] .*, got 1000000000/,
    ],
  ];
  for (const [extra, pattern] of cases) {
    it(extra.join(' '), async () => {
      const args = base([]);
      const at = args.indexOf(extra[0]);
      if (at >= 0) args.splice(at, 2);
      await refused([...args, ...extra], pattern);
    });
  }

  it('--out at a folder, under a file, in a read-only folder, at a file that is not a log', async () => {
    assertRefused(await cliInProcess(base([], tmp)), /--out .* is a folder/);
    writeFileSync(join(tmp, 'plain'), 'x');
    await refused(base([], join(tmp, 'plain', 'run.tsv')), /plain is a file, not a folder/);
    const notes = join(tmp, 'notes.txt');
    writeFileSync(notes, 'my notes, no newline');
    const r = await cliInProcess(base([], notes));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /notes\.txt exists .* not this run's log/);
    assert.equal(readFileSync(notes, 'utf8'), 'my notes, no newline');
    if (process.getuid?.() === 0) return; // root writes anywhere: the read-only case cannot be shown
    const ro = join(tmp, 'readonly');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    await refused(base([], join(ro, 'run.tsv')), /cannot write there/);
  });

  it('fuzz: any smoothing and patch options either work or are one UsageError', () => {
    const number = fc.oneof(
      fc.integer({ min: -5, max: 1e6 }),
      fc.double(),
      fc.constantFrom(0, 2 ** 32, NaN, Infinity),
    );
    fc.assert(
      fc.property(number, number, number, number, number, number, (sigma, n, n0, batch, stride, resize) => {
        try {
          validateSmoothingOptions({ ...defaultSmoothingOptions, sigma, n, n0, batch });
          new PatchReducer(
            { ...defaultSmoothingOptions, method: 'mean', stride, resize: { height: resize, width: resize } },
            { channels: 1, height: 6, width: 6 },
            { channels: 1, height: 4, width: 4 },
          );
        } catch (e) {
          if (!(e instanceof UsageError)) throw e;
        }
      }),
      { numRuns: 3000, interruptAfterTimeLimit: 5000 },
    );
  });
});

describe('refused: readers under fuzz', () => {
  it('IDX bytes and log text: parsed, or one UsageError', () => {
    const good = readFileSync(join(idx, 't10k-images-idx3-ubyte'));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(good.length), (noise, cut) => {
        for (const bytes of [noise, good.subarray(0, cut), Buffer.concat([good.subarray(0, cut), noise])]) {
          try {
            parseIdx(bytes, 'fuzz');
          } catch (e) {
            if (!(e instanceof UsageError)) throw e;
          }
        }
      }),
      { numRuns: 2000, interruptAfterTimeLimit: 5000 },
    );
    const header = 'idx\tlabel\tpredict\tradius\tcorrect\ttime\n';
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        for (const t of [text, header + text]) {
          try {
            parseLog(t, 'fuzz.tsv');
          } catch (e) {
            if (!(e instanceof UsageError)) throw e;
          }
        }
      }),
      { numRuns: 2000, interruptAfterTimeLimit: 5000 },
    );
  });

  it('analyze on a binary file, and on a log with an idx twice', async () => {
    const binary = join(tmp, 'model-as-log.tsv');
    writeFileSync(binary, readFileSync(model));
    const r = await cliInProcess(['analyze', binary]);
    assertRefused(r, /model-as-log\.tsv is a binary file/);
    const twice = join(tmp, 'twice.tsv');
    writeFileSync(
      twice,
      'idx\tlabel\tpredict\tradius\tcorrect\ttime\n0\t1\t1\t0.5\t1\t1.0\n0\t1\t1\t0.4\t1\t1.0\n',
    );
    assertRefused(await cliInProcess(['analyze', twice]), /twice\.tsv:3: idx 0 again \(first on line 2\)/);
  });

  it('resume of a log with a malformed middle line is refused, naming the line', async () => {
    const out = join(tmp, 'resume.tsv');
    const args = base([], out);
    assert.equal((await cliInProcess(args)).code, 0);
    const lines = readFileSync(out, 'utf8').split('\n');
    lines[2] = 'garbage';
    writeFileSync(out, lines.join('\n'));
    const r = await cliInProcess(args);
    assertRefused(r, /resume\.tsv:3: expected 10 tab-separated fields/);
  });
});

describe('one writer per log, and signals', () => {
  it('a second writer is refused naming the first; a dead writer lock is taken over', async () => {
    const out = join(tmp, 'locked.tsv');
    writeFileSync(
      `${out}.lock`,
      JSON.stringify({ pid: process.pid, host: (await import('node:os')).hostname() }),
    );
    await refused(base([], out), new RegExp(`locked\\.tsv is being written by process ${process.pid}`));
    // a pid that cannot exist on Linux (above pid_max): the writer is gone, its lock is stale
    writeFileSync(
      `${out}.lock`,
      JSON.stringify({ pid: 2 ** 30, host: (await import('node:os')).hostname() }),
    );
    const r = await cliInProcess(base([], out));
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!existsSync(`${out}.lock`), 'the lock outlived its run');
  });

  it('SIGINT stops after the current input with exit 130 and a log that resumes', async () => {
    const out = join(tmp, 'sigint.tsv');
    const many = join(tmp, 'many');
    writeIdx(
      many,
      Array.from({ length: 200 }, (_, i) => i % 2),
    );
    const args = base(['--n', '20000'], out);
    args[args.indexOf('--data') + 1] = many;
    const child = spawnCli(args);
    const done = finished(child);
    for (let t = 0; t < 600 && !(existsSync(out) && readFileSync(out, 'utf8').split('\n').length > 2); t++)
      await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    const r = await done;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /SIGINT: stopped after \d+ of 200 inputs; .* rerun the same command to resume/);
    const text = readFileSync(out, 'utf8');
    assert.ok(text.endsWith('\n'));
    const kept = text.trim().split('\n').length - 1;
    assert.ok(kept >= 1 && kept < 200, `${kept} lines`);
    assert.ok(!existsSync(`${out}.lock`));
  });
});

describe('refused: pixels outside the model card range', () => {
  it('a library call with [0, 255] pixels for a [0, 1] model, and NaN pixels', async () => {
    const { OnnxClassifier } = await import('../src/models/onnx-classifier.js');
    const { SmoothedClassifier } = await import('../src/smoothed-classifier.js');
    const f = await OnnxClassifier.load(model, { threads: 1 });
    try {
      const g = new SmoothedClassifier(f, f.inputShape, { ...defaultSmoothingOptions, n0: 10, n: 20 });
      await assert.rejects(
        g.certify({ pixels: new Float32Array(SIDE * SIDE).fill(200), index: 3 }),
        /input 3: pixel value 200 is outside the model's pixel range \[0, 1\]/,
      );
      await assert.rejects(
        g.predict({ pixels: new Float32Array(SIDE * SIDE).fill(NaN) }),
        /input 0: pixel value NaN/,
      );
    } finally {
      await f.dispose();
    }
  });
});
