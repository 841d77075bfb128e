/**
 * Companion runs (`certify --also`): other reductions of the same patch outputs certified from the
 * same model calls. Each companion log must be exactly the log a run of its options alone writes
 * (apart from the time column), resume on its own, and configurations that cannot share the model
 * calls must be refused with one line.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { manifestBeside } from '../src/io/manifest.js';
import { Aggregator } from '../src/reduce/aggregate.js';
import { SAMPLE, cliInProcess, withoutTime, writeCentroidModel } from './helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'sr-companions-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const model = join(tmp, 'centroid.onnx');
const at = (name: string) => join(tmp, name);

/** certify on 12 inputs, n = 200, with `extra` flags. */
const run = (out: string, ...extra: string[]) =>
  cliInProcess([
    'certify',
    '--model',
    model,
    '--data',
    SAMPLE,
    '--max',
    '24',
    '--skip',
    '2',
    '--sigma',
    '0.5',
    '--n0',
    '20',
    '--n',
    '200',
    '--batch',
    '50',
    '--threads',
    '1',
    '--quiet',
    ...extra,
    '--out',
    out,
  ]);
/** The same with Smooth-Mean, 9 patches (28 -> 32, stride 2). */
const certify = (out: string, ...extra: string[]) =>
  run(out, '--method', 'mean', '--resize', '32', '--stride', '2', ...extra);

/** The companions checked, as --also specs and as the flags of the same run alone. */
const COMPANIONS: { name: string; spec: string; alone: string[] }[] = [
  { name: 'max9', spec: 'method=max', alone: ['--method', 'max'] },
  { name: 'mean9-softmax', spec: 'aggregate=softmax', alone: ['--aggregate', 'softmax'] },
  {
    name: 'max9-softmax',
    spec: 'method=max,aggregate=softmax',
    alone: ['--method', 'max', '--aggregate', 'softmax'],
  },
  { name: 'mean4', spec: 'stride=4', alone: ['--stride', '4'] },
  { name: 'zoom1', spec: 'max-patches=1', alone: ['--max-patches', '1'] },
];

before(async () => {
  await writeCentroidModel(model);
  const also = COMPANIONS.flatMap((c) => ['--also', `out=${at(`${c.name}.tsv`)},${c.spec}`]);
  const r = await certify(at('mean9.tsv'), ...also);
  assert.equal(r.code, 0, r.stderr);
});

describe('certify --also', () => {
  it('writes, for each companion, the log of a run of its options alone', async () => {
    const r = await certify(at('mean9-alone.tsv'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(withoutTime(at('mean9.tsv')), withoutTime(at('mean9-alone.tsv')));
    for (const c of COMPANIONS) {
      const alone = await certify(at(`${c.name}-alone.tsv`), ...c.alone);
      assert.equal(alone.code, 0, alone.stderr);
      assert.equal(withoutTime(at(`${c.name}.tsv`)), withoutTime(at(`${c.name}-alone.tsv`)), c.name);
      // the manifests name the same run: a companion log resumes as a run alone and back
      const shared = manifestBeside(at(`${c.name}.tsv`))!;
      const single = manifestBeside(at(`${c.name}-alone.tsv`))!;
      assert.deepEqual(shared.options, single.options, c.name);
      assert.equal(shared.label, single.label, c.name);
      assert.equal(shared.execution.sharedCalls?.length, COMPANIONS.length);
      assert.equal(shared.finished !== null && shared.lines, 12);
    }
    // the companions are not all the same run: at least one reduction changes some certificate
    const logs = new Set(COMPANIONS.map((c) => withoutTime(at(`${c.name}.tsv`)).replace(/^.*\n/, '')));
    assert.ok(logs.size > 1, 'every companion wrote the same certificates');
  });

  it('resumes a companion whose log is short without touching the complete ones', async () => {
    const reference = readFileSync(at('max9.tsv'), 'utf8');
    const lines = reference.split('\n');
    writeFileSync(at('max9.tsv'), `${lines.slice(0, 5).join('\n')}\n`);
    const before = readFileSync(at('mean9.tsv'), 'utf8');
    const also = COMPANIONS.flatMap((c) => ['--also', `out=${at(`${c.name}.tsv`)},${c.spec}`]);
    const r = await certify(at('mean9.tsv'), ...also);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(at('mean9.tsv'), 'utf8'), before);
    assert.equal(withoutTime(at('max9.tsv')), withoutTime(at('max9-alone.tsv')));
  });

  it('refuses companions that cannot share the model calls, in one line', async () => {
    const refused: [string[], RegExp][] = [
      [['--also', `out=${at('x.tsv')},stride=3`], /reads the patch at \(0, 3\)/],
      [['--noise', 'uncorrelated', '--also', `out=${at('x.tsv')},method=max`], /correlated or input/],
      [['--adaptive-radius', '0.25', '--also', `out=${at('x.tsv')},method=max`], /all n samples/],
      [['--also', `out=${at('y.tsv')}`, '--also', `out=${at('y.tsv')},method=max`], /named twice/],
      [['--also', `out=${at('x.tsv')},method=rs`], /method must be one of max, mean/],
      [['--also', 'method=max'], /needs out=LOG/],
      [['--also', `out=${at('x.tsv')},size=3`], /expected key=value pairs/],
    ];
    for (const [extra, message] of refused) {
      const r = await certify(at('refused.tsv'), ...extra);
      assert.equal(r.code, 2, extra.join(' '));
      assert.match(r.stderr, message, extra.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    const rs = await run(at('rs.tsv'), '--also', `out=${at('x.tsv')},method=max`);
    assert.equal(rs.code, 2);
    assert.match(rs.stderr, /--method max\|mean/);
  });
});

describe('Aggregator over a subset of the patches', () => {
  it('votes as an aggregator over those patches alone', () => {
    // 3 samples x 4 patches x 3 classes of scores; the subset is patches 1 and 3
    const outputs = Float32Array.from({ length: 36 }, (_, i) => Math.sin(i * 1.7) * 3);
    const subset = new Float32Array(3 * 2 * 3);
    for (let s = 0; s < 3; s++)
      for (const [j, p] of [1, 3].entries())
        subset.set(outputs.subarray((s * 4 + p) * 3, (s * 4 + p + 1) * 3), (s * 2 + j) * 3);
    for (const reduction of ['max', 'mean'] as const)
      for (const over of ['logits', 'softmax'] as const) {
        const some = new Aggregator(3, reduction, over, [1, 3]);
        const alone = new Aggregator(3, reduction, over);
        for (let s = 0; s < 3; s++)
          assert.equal(
            some.vote(outputs, s * 4, 4),
            alone.vote(subset, s * 2, 2),
            `${reduction} ${over} ${s}`,
          );
      }
  });
});
