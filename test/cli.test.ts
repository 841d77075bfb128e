/**
 * The certify / predict command line end to end, on a tiny linear ONNX model (nearest centroid) and
 * the bundled Fashion-MNIST sample: usage errors (spawned: exit code 2, one line, no stack trace),
 * every method and noise mode, seeds, --json, progress output, data options.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LEGEND_POSITIONS } from '../src/analysis/plot/legend.js';
import { formatDuration, createProgress } from '../src/cli/progress.js';
import { type RunManifest, readManifest } from '../src/io/manifest.js';
import { writePng } from './fixtures/data/make.js';
import { SAMPLE, cli, cliInProcess, limited, withoutTime, writeCentroidModel } from './helpers/cli.js';
import { linearModel } from './helpers/onnx-models.js';

const tmp = mkdtempSync(join(tmpdir(), 'sr-cli-run-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const model = join(tmp, 'centroid.onnx');
before(() => writeCentroidModel(model));

/** Small and quick: 3 inputs (idx 0, 2, 4), n0 10, n 50. */
const SMALL = ['--data', SAMPLE, '--max', '6', '--skip', '2', '--n0', '10', '--n', '50', '--batch', '25'];
const common = () => ['--model', model, ...SMALL, '--threads', '1', '--quiet'];
let outs = 0;
const out = (name = 'run') => join(tmp, `${name}-${++outs}.tsv`);

const oneLineError = (
  r: { code: number | null; stdout: string; stderr: string },
  pattern: RegExp,
  what: string,
) => {
  assert.equal(r.code, 2, `${what}: exit code (stderr: ${r.stderr})`);
  assert.equal(r.stdout, '', `${what}: nothing on stdout`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `${what}: one line, got:\n${r.stderr}`);
  assert.match(lines[0], /^smooth-reduce: /, what);
  assert.match(lines[0], pattern, what);
  assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
};

describe('cli: usage errors', () => {
  it('are one line on stderr, exit code 2, no stack trace', async () => {
    const corrupt = join(tmp, 'corrupt.onnx');
    writeFileSync(corrupt, Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 7919 + 13) % 256)));
    const small = join(tmp, 'small-20.onnx');
    writeFileSync(small, linearModel([1, 20, 20], new Float32Array(10 * 400), new Float32Array(10)));
    const e = join(tmp, 'error.tsv');
    const base = ['--model', model, ...SMALL, '--threads', '1', '--out', e];
    // [what, args, message, also in a child process]
    const cases: [string, string[], RegExp, boolean][] = [
      [
        'missing model',
        ['certify', '--model', join(tmp, 'nope.onnx'), ...SMALL, '--out', e],
        /no such model: .*nope\.onnx$/,
        false,
      ],
      [
        'corrupt model',
        ['certify', '--model', corrupt, ...SMALL, '--out', e],
        /cannot load ONNX model .*corrupt\.onnx: /,
        true,
      ],
      [
        'input shape',
        ['certify', '--model', small, ...SMALL, '--out', e],
        /the data is 1x28x28 but the model takes 1x20x20; plain RS needs them equal/,
        false,
      ],
      ['sigma 0', ['certify', ...base, '--sigma', '0'], /--sigma must be > 0, got 0$/, false],
      ['sigma < 0', ['predict', ...base, '--sigma', '-1'], /--sigma must be > 0, got -1$/, false],
      ['alpha 1', ['certify', ...base, '--alpha', '1'], /--alpha must be in \(0, 1\), got 1$/, false],
      ['alpha 0', ['certify', ...base, '--alpha', '0'], /--alpha must be in \(0, 1\), got 0$/, false],
      ['n0 > n', ['certify', ...base, '--n0', '100'], /--n0 \(100\) must not exceed --n \(50\)/, false],
      [
        'patch larger than the resized image',
        ['certify', ...base, '--method', 'mean', '--resize', '20'],
        /the patch \(model input 28x28\) is larger than the resized image 20x20; choose --resize so that it is at least the model input size$/,
        true,
      ],
      [
        'unknown method',
        ['certify', ...base, '--method', 'median'],
        /'median' is invalid. expected one of rs, max, mean$/,
        true,
      ],
      [
        'missing data',
        ['certify', '--model', model, '--data', join(tmp, 'no-data'), '--out', e],
        /no such data set: .*no-data$/,
        false,
      ],
      [
        'unknown option',
        ['certify', ...base, '--sigmaa', '1'],
        /unknown option '--sigmaa' \(did you mean --sigma\?\)$/,
        false,
      ],
      [
        '--out missing',
        ['predict', '--model', model, '--data', SAMPLE],
        /required option '--out <log\.tsv>' not specified/,
        false,
      ],
    ];
    for (const [what, args, pattern] of cases) oneLineError(await cliInProcess(args), pattern, what);
    // the executable itself (exit code, nothing from Node or ONNX Runtime on stderr): a few, two at a time
    const spawned = cases.filter((c) => c[3]);
    const results = await limited(
      spawned.map(
        ([, args]) =>
          () =>
            cli(args),
      ),
      2,
    );
    spawned.forEach(([what, , pattern], k) => oneLineError(results[k], pattern, `${what} (spawned)`));
    assert.ok(!existsSync(e), 'no log written on a usage error');
  });

  it('--data-resize on an IDX data set, and a channel mismatch with a hint', async () => {
    const e = out('error');
    oneLineError(
      await cliInProcess(['certify', ...common(), '--data-resize', '32', '--out', e]),
      /resize and center crop apply to image folders only/,
      '--data-resize on IDX',
    );
    oneLineError(
      await cliInProcess(['certify', ...common(), '--channels', '2', '--out', e]),
      /option '--channels <1\|3>' argument '2' is invalid. expected 1 or 3$/,
      '--channels 2',
    );
    oneLineError(
      await cliInProcess(['certify', ...common(), '--center-crop', '0', '--out', e]),
      /argument '0' is invalid. expected a whole number of pixels > 0$/,
      '--center-crop 0',
    );
  });
});

describe('cli: certify and predict end to end', () => {
  const configs: [string, string[]][] = [
    ['rs', ['--method', 'rs']],
    ...(['max', 'mean'] as const).flatMap((method) =>
      (['correlated', 'uncorrelated', 'input'] as const).map((noise): [string, string[]] => [
        `${method} ${noise}`,
        ['--method', method, '--noise', noise],
      ]),
    ),
    [
      'mean, 4 random patches, softmax, nearest',
      [
        '--method',
        'mean',
        '--random-patches',
        '--max-patches',
        '4',
        '--aggregate',
        'softmax',
        '--resize-mode',
        'nearest',
      ],
    ],
  ];

  for (const [name, flags] of configs) {
    it(name, async () => {
      const c = out('certify');
      const r = await cliInProcess(['certify', ...common(), ...flags, '--out', c]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout + r.stderr, '', '--quiet prints nothing');
      const lines = readFileSync(c, 'utf8').trimEnd().split('\n');
      assert.equal(
        lines[0],
        'idx\tlabel\tpredict\tradius\tcorrect\ttime\tpA_lower\tradius_smoothing\tcount_A\tn',
      );
      assert.deepEqual(
        lines.slice(1).map((l) => Number(l.split('\t')[0])),
        [0, 2, 4],
      );
      const m = readManifest(`${c}.manifest.json`);
      assert.equal(m.options.method, flags[1]);
      assert.equal(m.lines, 3);
      assert.ok(m.finished);
      for (const line of lines.slice(1)) {
        const [, label, predict, radius, correct, , pA, radiusSmoothing, countA, n] = line
          .split('\t')
          .map(Number);
        assert.ok(predict === -1 || (predict >= 0 && predict < 10), line);
        assert.equal(correct, predict === label ? 1 : 0, line);
        assert.equal(n, 50);
        assert.ok(countA >= 0 && countA <= 50, line);
        assert.ok(pA >= 0 && pA < 1, line);
        if (predict === -1) assert.equal(radius, 0, line);
        else assert.ok(radius > 0 && radiusSmoothing >= radius * 0.9999, line);
      }
      const p = out('predict');
      const q = await cliInProcess(['predict', ...common(), ...flags, '--out', p]);
      assert.equal(q.code, 0, q.stderr);
      const plines = readFileSync(p, 'utf8').trimEnd().split('\n');
      assert.equal(plines[0], 'idx\tlabel\tpredict\tcorrect\ttime\tp_value\tcount_A\tn');
      assert.equal(plines.length, 4);
      for (const line of plines.slice(1)) {
        const [, label, predict, correct, , pValue] = line.split('\t').map(Number);
        assert.ok(predict === -1 || (predict >= 0 && predict < 10), line);
        assert.equal(correct, predict === label ? 1 : 0, line);
        assert.ok(pValue >= 0 && pValue <= 1, line);
      }
    });
  }

  it('the same --seed writes the same log apart from time, whatever --batch', async () => {
    const flags = ['--method', 'mean', '--noise', 'input', '--random-patches', '--max-patches', '5'];
    const [a, b, c] = [out('seed'), out('seed'), out('seed')];
    for (const [o, batch] of [
      [a, '25'],
      [b, '25'],
      [c, '13'],
    ]) {
      const r = await cliInProcess([
        'certify',
        ...common(),
        ...flags,
        '--seed',
        '7',
        '--batch',
        batch,
        '--out',
        o,
      ]);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal(withoutTime(b), withoutTime(a));
    assert.equal(withoutTime(c), withoutTime(a), 'another --batch');
    // (test/run-resume.test.ts compares runs in child processes with runs in this one)
  });
});

describe('cli: adaptive certification', () => {
  it('--adaptive-radius stops early, logs the samples drawn, and is part of the run identity', async () => {
    const o = out('adaptive');
    const base = ['certify', '--model', model, '--data', SAMPLE, '--max', '8', '--skip', '2'];
    const flags = ['--n0', '20', '--n', '800', '--batch', '100', '--threads', '1', '--quiet'];
    const r = await cliInProcess([
      ...base,
      ...flags,
      '--adaptive-radius',
      '0.05',
      '--looks',
      '4',
      '--out',
      o,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const rows = readFileSync(o, 'utf8')
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((l) => l.split('\t').map(Number));
    assert.equal(rows.length, 4);
    const schedule = [100, 200, 400, 800];
    for (const row of rows) assert.ok(schedule.includes(row[9]), `n = ${row[9]} is a look of the schedule`);
    assert.ok(
      rows.some((row) => row[9] < 800),
      'some input decided before the last look',
    );
    const m = readManifest(`${o}.manifest.json`);
    assert.equal(m.options.adaptiveRadius, 0.05);
    assert.equal(m.options.looks, 4);
    const again = await cliInProcess([...base, ...flags, '--adaptive-radius', '0.1', '--out', o]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /belongs to another run/);
  });
});

describe('cli: output', () => {
  it('--json: JSON lines on stdout only, start / input / finish', async () => {
    const o = out('json');
    const args = ['certify', '--model', model, ...SMALL, '--threads', '1', '--json', '--out', o];
    const r = await cli(args);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const events = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      events.map((e) => e.event),
      ['start', 'input', 'input', 'input', 'finish'],
    );
    const [start, ...rest] = events;
    assert.equal(start.label, 'RS sigma=0.25');
    assert.equal(start.total, 3);
    assert.equal(start.resumed, 0);
    assert.deepEqual(
      rest.slice(0, 3).map((e) => [e.idx, e.done, e.total]),
      [
        [0, 1, 3],
        [2, 2, 3],
        [4, 3, 3],
      ],
    );
    for (const e of rest.slice(0, 3)) {
      for (const key of ['label', 'prediction', 'correct', 'radius', 'seconds']) assert.ok(key in e, key);
    }
    const finish = rest[3];
    assert.equal(finish.total, 3);
    assert.equal(finish.done, 3);
    const log = readFileSync(o, 'utf8').trimEnd().split('\n').slice(1);
    assert.equal(finish.correct, log.filter((l) => l.split('\t')[4] === '1').length);
    // resumed with nothing left to do: start (resumed 3) and finish, counts from the log
    const again = await cliInProcess(args);
    const events2 = again.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      events2.map((e) => [e.event, e.resumed]),
      [
        ['start', 3],
        ['finish', 3],
      ],
    );
    assert.equal(events2[1].correct, finish.correct);
  });

  it('not a terminal: a start line, progress lines and a summary on stderr, nothing on stdout', async () => {
    const o = out('lines');
    const r = await cliInProcess(['certify', '--model', model, ...SMALL, '--threads', '1', '--out', o]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.match(
      lines[0],
      /^RS sigma=0\.25: 3 inputs \(3 to do\); radii in input space, smoothing space: input; sigma = 0\.25, the default \(the model card names no training sigma\)$/,
    );
    assert.match(
      lines[1],
      /^\[3\/3\] 100% \| [\d.]+ inputs\/s \| ETA 0\.0s \| certified acc [\d.]+ \| abstained \d+$/,
    );
    assert.match(
      lines[2],
      /^done: 3 inputs in [\d.]+s, certified accuracy [\d.]+ \(\d\/3\), \d+ abstained; log /,
    );
    assert.equal(lines.length, 3);
  });

  it('plain lines at most every interval, and at the end', () => {
    let t = 0;
    let text = '';
    const p = createProgress({
      mode: 'lines',
      out: 'x.tsv',
      streams: {
        stdout: { write: () => assert.fail('stdout') },
        stderr: { write: (s: string) => (text += s) },
      },
      intervalMs: 10_000,
      now: () => t,
    });
    const manifest = { command: 'certify', label: 'L', smoothingSpace: 'input' } as RunManifest;
    p.start(100, 40, manifest, { correct: 20, abstained: 5 });
    for (let k = 1; k <= 60; k++) {
      t = k * 1000; // one input per second
      p.input(
        { idx: k, label: 1, prediction: k % 3 === 0 ? -1 : 1, correct: k % 3 !== 0, radius: 0.5, seconds: 1 },
        40 + k,
      );
    }
    p.finish({ total: 100, resumed: 40, correct: 40, abstained: 20, seconds: 60 });
    const lines = text.trimEnd().split('\n');
    assert.equal(
      lines[0],
      'L: 100 inputs (40 already in x.tsv, 60 to do); radii in input space, smoothing space: input',
    );
    // t = 10, 20, ..., 50 s (not 60: that is the end), then the final line and the summary
    assert.equal(lines.length, 1 + 5 + 2);
    assert.equal(lines[1], '[50/100] 50% | 1.00 inputs/s | ETA 50s | certified acc 0.540 | abstained 8');
    assert.equal(lines[6], '[100/100] 100% | 1.00 inputs/s | ETA 0.0s | certified acc 0.600 | abstained 25');
    assert.equal(
      lines[7],
      'done: 100 inputs (60 this session) in 1m00s, certified accuracy 0.600 (60/100), 25 abstained; log x.tsv',
    );
  });

  it('a terminal: a progress bar with done/total, rate, ETA, accuracy and abstentions', () => {
    let text = '';
    const p = createProgress({
      mode: 'tty',
      out: 'x.tsv',
      streams: {
        stdout: { write: () => assert.fail('stdout') },
        stderr: Object.assign({ write: (s: string) => ((text += s), true), isTTY: true, columns: 160 }),
      },
    });
    p.start(4, 0, { command: 'predict', label: 'L', smoothingSpace: 'input' } as RunManifest, {
      correct: 0,
      abstained: 0,
    });
    for (let k = 1; k <= 4; k++)
      p.input({ idx: k, label: 1, prediction: k === 4 ? -1 : 1, correct: k !== 4, radius: 0, seconds: 0 }, k);
    p.finish({ total: 4, resumed: 0, correct: 3, abstained: 1, seconds: 0.5 });
    assert.match(text, /4\/4 \| [\d.?]+ inputs\/s \| ETA 0\.0s \| accuracy 0\.750 \| abstained 1/);
    assert.match(
      text,
      // a PREDICT run: accuracy, not certified accuracy
      /\ndone: 4 inputs in 0\.5s, accuracy 0\.750 \(3\/4\), 1 abstained; log x\.tsv\n$/,
    );
    p.close();
  });

  it('the plot help lists every legend position', async () => {
    const r = await cliInProcess(['plot', '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout.replace(/\s+/g, ' '),
      new RegExp(`--legend <position> +${LEGEND_POSITIONS.join(' \\| ')}`),
    );
  });

  it('durations', () => {
    assert.deepEqual([0.25, 9.9, 42, 75, 3599, 7300, 90000, NaN, Infinity].map(formatDuration), [
      '0.3s',
      '9.9s',
      '42s',
      '1m15s',
      '59m59s',
      '2h01m',
      '1d01h',
      '?',
      '?',
    ]);
  });
});

describe('cli: data options', () => {
  it('--data-resize, --center-crop, --channels on an image folder; part of the run identity', async () => {
    const root = join(tmp, 'images');
    for (const [k, cls] of ['ant', 'bee', 'ant', 'bee'].entries()) {
      await writePng(
        join(root, cls, `${k}.png`),
        40,
        30,
        (x, y, c) => (x * 5 + y * 3 + c * 40 + k * 20) % 256,
      );
    }
    const m16 = join(tmp, 'linear-16.onnx');
    const w = Float32Array.from({ length: 2 * 256 }, (_, i) => ((i * 37) % 11) / 11 - 0.5);
    writeFileSync(m16, linearModel([1, 16, 16], w, [0, 0]));
    const base = ['--model', m16, '--data', root, '--n0', '10', '--n', '50', '--threads', '1', '--quiet'];
    const o = out('images');
    oneLineError(
      await cliInProcess(['certify', ...base, '--data-resize', '20', '--center-crop', '16', '--out', o]),
      /the data has 3 channel\(s\) but the model takes 1; pass --channels 1 to convert the images$/,
      'channels',
    );
    const flags = ['--data-resize', '20', '--center-crop', '16', '--channels', '1'];
    const r = await cliInProcess(['certify', ...base, ...flags, '--out', o]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(o, 'utf8').trimEnd().split('\n').length, 5);
    const manifest = readManifest(`${o}.manifest.json`);
    assert.deepEqual(manifest.data.transform, { resize: 20, centerCrop: 16, channels: 1 });
    assert.match(manifest.data.description, /resize 20, center crop 16/);
    // another crop is another run (Smooth-Mean takes the larger crop: patches of the model size)
    oneLineError(
      await cliInProcess([
        'certify',
        ...base,
        '--data-resize',
        '20',
        '--center-crop',
        '18',
        '--channels',
        '1',
        '--method',
        'mean',
        '--out',
        o,
      ]),
      /belongs to another run \(.*data\.transform\.centerCrop: 16 -> 18/,
      'other crop',
    );
  });
});
