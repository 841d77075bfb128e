/**
 * certify / predict on image files (`--data x.png [y.jpg ...]`, `--label` optional), and the sigma
 * rule shared by the CLI and the HTTP API (the card's training sigma, else 0.25; a warning when
 * the chosen sigma differs from the card's; a card saying 0 takes 0.25 without a warning).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lastDataFlag } from '../src/cli/program.js';
import { readModelCard } from '../src/models/model-card.js';
import { chooseSigma } from '../src/models/sigma.js';
import { createService } from '../src/serve/app.js';
import { REPO, cliInProcess, writeCentroidModel } from './helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'sr-images-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const MODEL = join(REPO, 'models', 'cifar10-cnn-cohen-s025');
const classes = readModelCard(join(MODEL, 'model.json')).classes;
const cat = join(tmp, 'cat.jpg');
const ship = join(tmp, 'ship.jpg');
const centroid = join(tmp, 'centroid.onnx');
before(async () => {
  copyFileSync(join(REPO, 'data', 'cifar10-sample', 'cat', '0000.jpg'), cat);
  copyFileSync(join(REPO, 'data', 'cifar10-sample', 'ship', '0000.jpg'), ship);
  await writeCentroidModel(centroid);
});
const SMALL = ['--n0', '20', '--n', '100', '--threads', '1'];
let outs = 0;
const out = () => join(tmp, `run-${++outs}.tsv`);
const logRows = (path: string) =>
  readFileSync(path, 'utf8')
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t'));

describe('certify / predict on image files', () => {
  it('one image, no label: the class name from the card and the radius; accuracy says "no label"', async () => {
    const o = out();
    const r = await cliInProcess(['certify', '--model', MODEL, '--data', cat, ...SMALL, '--out', o]);
    assert.equal(r.code, 0, r.stderr);
    const m = /^(.+): (.+) \(class (\d+)\), certified radius ([\d.]+) \(L2, input space\)\n$/.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.equal(m[1], cat);
    assert.equal(m[2], classes[Number(m[3])]);
    const [row] = logRows(o);
    // the log: label -1 (none), the same class and radius
    assert.deepEqual([row[1], row[2], row[3]], ['-1', m[3], m[4]]);
    const lines = r.stderr.trimEnd().split('\n');
    assert.match(
      lines[0],
      /^RS sigma=0\.25: 1 input \(1 to do\);.*; sigma = 0\.25, the sigma the model was trained with/,
    );
    assert.match(lines[1], /certified acc no label \|/);
    assert.match(lines[2], /^done: 1 input in .*, certified accuracy: no label, \d abstained; log /);
  });

  it('a list of files with --label (a name or an index per file): correct or wrong, as logged', async () => {
    const o = out();
    const r = await cliInProcess([
      'certify',
      '--model',
      MODEL,
      '--data',
      cat,
      ship,
      '--label',
      'Cat',
      '--label',
      '8',
      ...SMALL,
      '--out',
      o,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    const rows = logRows(o);
    assert.equal(lines.length, 2);
    for (const [k, [file, label]] of [
      [cat, 'cat (class 3)'],
      [ship, 'ship (class 8)'],
    ].entries()) {
      assert.ok(lines[k].startsWith(`${file}: `), lines[k]);
      assert.ok(lines[k].endsWith(`; label ${label}: ${rows[k][4] === '1' ? 'correct' : 'wrong'}`), lines[k]);
    }
    assert.deepEqual(
      rows.map((row) => row[1]),
      ['3', '8'],
    );
    assert.match(r.stderr, /done: 2 inputs in .*, certified accuracy [\d.]+ \(\d\/2\)/);
  });

  it('predict: the class name and the p-value; its summary says "accuracy", not "certified accuracy"', async () => {
    const r = await cliInProcess(['predict', '--model', MODEL, '--data', ship, ...SMALL, '--out', out()]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^.+ship\.jpg: (.+ \(class \d\), p-value \S+|abstained \(no class significant\))\n$/,
    );
    assert.match(r.stderr, /done: 1 input in .*, accuracy: no label,/);
    assert.doesNotMatch(r.stderr, /certified/);
  });

  it('a repeated --data overrides the earlier one, as other options do', () => {
    assert.deepEqual(lastDataFlag(['certify', '--data', 'a', '--n', '5', '--data', 'x.png', 'y.png']), [
      'certify',
      '--n',
      '5',
      '--data',
      'x.png',
      'y.png',
    ]);
    assert.deepEqual(lastDataFlag(['--data=a', '--data', 'b']), ['--data', 'b']);
  });

  it('refuses bad labels and mixed paths in one line', async () => {
    const cases: [string[], RegExp][] = [
      [['--data', cat, '--label', 'dragon'], /--label dragon: not a class of the model \(0 airplane, /],
      [['--data', cat, '--label', '10'], /--label 10: not a class of the model/],
      [
        ['--data', cat, ship, '--label', 'cat', '--label', 'ship', '--label', 'dog'],
        /one for all 2 files or one per file, not 3/,
      ],
      [['--data', join(REPO, 'data', 'cifar10-sample'), '--label', 'cat'], /--label applies to image files/],
      [['--data', cat, join(REPO, 'data', 'cifar10-sample')], /must all be JPEG or PNG image files/],
      [['--data', join(tmp, 'nope.png')], /no such image file: .*nope\.png/],
    ];
    for (const [args, pattern] of cases) {
      const r = await cliInProcess(['certify', '--model', MODEL, ...args, ...SMALL, '--out', out()]);
      assert.equal(r.code, 2, args.join(' '));
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], pattern);
    }
  });
});

describe('sigma: the card training sigma, else 0.25; one rule for the CLI and the API', () => {
  it('the rule', () => {
    assert.deepEqual(
      [chooseSigma(undefined, { training: { sigma: 0.5 } }).sigma, chooseSigma(undefined, {}).sigma],
      [0.5, 0.25],
    );
    const noise0 = chooseSigma(undefined, { training: { sigma: 0 } });
    assert.equal(noise0.sigma, 0.25);
    assert.equal(noise0.warning, null);
    assert.match(noise0.note, /trained without noise/);
    assert.equal(chooseSigma(0.5, { training: { sigma: 0 } }).warning, null);
    assert.equal(chooseSigma(0.25, { training: { sigma: 0.25 } }).warning, null);
    assert.match(chooseSigma(0.5, { training: { sigma: 0.25 } }).warning ?? '', /differs .* \(0\.25\)/);
  });

  it('CLI: another --sigma than the card warns before the start line; no card: 0.25, the default', async () => {
    const r = await cliInProcess([
      'certify',
      '--model',
      MODEL,
      '--data',
      cat,
      '--sigma',
      '0.5',
      ...SMALL,
      '--out',
      out(),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.split('\n');
    assert.match(
      lines[0],
      /^smooth-reduce: warning: sigma 0\.5 differs from the sigma the model was trained with \(0\.25\)/,
    );
    assert.match(lines[1], /^RS sigma=0\.5: .*; sigma = 0\.5$/);
    const json = await cliInProcess([
      'certify',
      '--model',
      centroid,
      '--data',
      join(REPO, 'data', 'fashion-mnist-sample'),
      '--max',
      '1',
      ...SMALL,
      '--json',
      '--out',
      out(),
    ]);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(json.stderr, '');
    const start = JSON.parse(json.stdout.split('\n')[0]) as Record<string, unknown>;
    assert.equal(start.label, 'RS sigma=0.25');
    assert.equal(start.sigmaSource, 'default');
    assert.deepEqual(start.warnings, []);
    const input = JSON.parse(json.stdout.split('\n')[1]) as Record<string, unknown>;
    assert.equal(typeof input.pALower, 'number');
    assert.equal((input.counts as number[]).length, 10);
    assert.equal(input.seconds, Math.round((input.seconds as number) * 1e6) / 1e6);
  });

  it('API: the same rule and the same warning', async () => {
    const service = await createService({
      models: [join(REPO, 'models', 'fmnist-cnn-s050')],
      workers: 1,
      webRoot: null,
    });
    try {
      const ask = async (options: Record<string, unknown>) => {
        const r = await service.app.inject({
          method: 'POST',
          url: '/v1/certify',
          headers: { 'content-type': 'application/json' },
          payload: { pixels: new Array(28 * 28).fill(0.5), n0: 10, n: 50, ...options },
        });
        assert.equal(r.statusCode, 200, r.body);
        return r.json<{ sigma: number; warnings: string[] }>();
      };
      const byDefault = await ask({});
      assert.deepEqual([byDefault.sigma, byDefault.warnings], [0.5, []]);
      const other = await ask({ sigma: 0.25 });
      assert.equal(other.sigma, 0.25);
      assert.deepEqual(other.warnings, [chooseSigma(0.25, { training: { sigma: 0.5 } }).warning]);
    } finally {
      await service.close();
    }
  });
});
