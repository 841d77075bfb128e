/**
 * Sharded runs (`--shard i/n`) and `smooth-reduce merge`: the merged shards equal one unsharded run
 * apart from the time column, and every way shards can fail to fit together is a one-line error.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { identityMismatch, readManifest } from '../src/io/manifest.js';
import { SAMPLE, cliInProcess, withoutTime, writeCentroidModel } from './helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'sr-merge-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const model = join(tmp, 'centroid.onnx');

/** 10 inputs (every 3rd below 30), random patches: each input's noise and patches come from its index. */
const RUN = [
  '--data',
  SAMPLE,
  '--max',
  '30',
  '--skip',
  '3',
  '--n0',
  '10',
  '--n',
  '60',
  '--batch',
  '20',
  '--method',
  'max',
  '--noise',
  'correlated',
  '--random-patches',
  '--max-patches',
  '3',
  '--threads',
  '1',
  '--quiet',
];
const path = (name: string) => join(tmp, name);

async function certify(out: string, ...extra: string[]): Promise<void> {
  const r = await cliInProcess(['certify', '--model', model, ...RUN, ...extra, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
}

async function mergeError(args: string[], pattern: RegExp): Promise<void> {
  const r = await cliInProcess(['merge', ...args]);
  assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^smooth-reduce: merge: [^\n]+\n$/);
  assert.match(r.stderr.trimEnd(), pattern);
}

before(async () => {
  await writeCentroidModel(model);
  await certify(path('single.tsv'));
  // shard 1 first: the merge must not depend on the order shards ran or are named in
  await certify(path('s1.tsv'), '--shard', '1/2');
  await certify(path('s0.tsv'), '--shard', '0/2');
});

describe('merge', () => {
  it('shards 0/2 and 1/2 merged equal the unsharded run apart from time', async () => {
    const out = path('merged.tsv');
    const r = await cliInProcess(['merge', path('s1.tsv'), path('s0.tsv'), '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^merged 2 shards, 10 inputs: .*merged\.tsv \(Smooth-Max \(3 random patches/);
    assert.equal(withoutTime(out), withoutTime(path('single.tsv')));
    const idx = readFileSync(out, 'utf8')
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((l) => Number(l.split('\t')[0]));
    assert.deepEqual(idx, [0, 3, 6, 9, 12, 15, 18, 21, 24, 27]);

    const merged = readManifest(`${out}.manifest.json`);
    const single = readManifest(path('single.tsv.manifest.json'));
    const shards = [0, 1].map((i) => readManifest(path(`s${i}.tsv.manifest.json`)));
    assert.equal(identityMismatch(single, merged), null);
    assert.equal(merged.selection.shard, null);
    assert.equal(merged.lines, 10);
    assert.equal(merged.started, [shards[0].started, shards[1].started].sort()[0]);
    assert.equal(merged.finished, [shards[0].finished, shards[1].finished].sort()[1]);
    assert.deepEqual(
      merged.mergedFrom?.map((s) => [s.shard.index, s.lines]),
      [
        [0, 5],
        [1, 5],
      ],
    );
    // the merged log is a finished run: rerunning the unsharded command finds nothing to do
    const before = readFileSync(out, 'utf8');
    await certify(out);
    assert.equal(readFileSync(out, 'utf8'), before);
  });

  it("a shard resumed in a second session: its sessions go into the merged manifest's mergedFrom", async () => {
    // shard 1 as if its first session had stopped after 2 of its 5 inputs
    const log = readFileSync(path('s1.tsv'), 'utf8').split('\n');
    writeFileSync(path('r1.tsv'), log.slice(0, 3).join('\n') + '\n');
    const first = readManifest(path('s1.tsv.manifest.json'));
    writeFileSync(path('r1.tsv.manifest.json'), JSON.stringify({ ...first, finished: null, lines: null }));
    await certify(path('r1.tsv'), '--shard', '1/2');
    const resumed = readManifest(path('r1.tsv.manifest.json'));
    assert.deepEqual(
      resumed.earlierSessions?.map((s) => [s.started, s.lines, s.execution.threads]),
      [[first.started, 2, 1]],
    );
    assert.ok(resumed.resumed && resumed.resumed > first.started);

    const out = path('merged-resumed.tsv');
    const r = await cliInProcess(['merge', path('s0.tsv'), path('r1.tsv'), '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(withoutTime(out), withoutTime(path('single.tsv')));
    const merged = readManifest(`${out}.manifest.json`);
    assert.equal(merged.earlierSessions, undefined, "a shard's sessions are not the merged run's");
    assert.equal(merged.resumed, undefined);
    assert.equal(merged.mergedFrom?.[0].earlierSessions, undefined, 'shard 0 ran in one session');
    assert.deepEqual(merged.mergedFrom?.[1].earlierSessions, resumed.earlierSessions);
    assert.equal(merged.mergedFrom?.[1].resumed, resumed.resumed);
  });

  it('refuses a missing shard, saying which and how many inputs', async () => {
    await mergeError(
      [path('s0.tsv'), '--out', path('m1.tsv')],
      /shard 1\/2 missing: 5 inputs of 10 not covered$/,
    );
    await certify(path('t0.tsv'), '--shard', '0/3');
    await mergeError(
      [path('t0.tsv'), '--out', path('m1.tsv')],
      /shards 1\/3, 2\/3 missing: 6 inputs of 10 not covered$/,
    );
    assert.ok(!existsSync(path('m1.tsv')));
  });

  it('refuses shards of different runs or splits', async () => {
    await certify(path('sigma.tsv'), '--shard', '1/2', '--sigma', '0.5');
    await mergeError(
      [path('s0.tsv'), path('sigma.tsv'), '--out', path('m2.tsv')],
      /s0\.tsv and .*sigma\.tsv are shards of different runs \(options\.sigma: 0\.25 -> 0\.5\)$/,
    );
    await mergeError(
      [path('s0.tsv'), path('t0.tsv'), '--out', path('m2.tsv')],
      /s0\.tsv is shard 0\/2 but .*t0\.tsv is shard 0\/3: shards of different splits$/,
    );
    await mergeError(
      [path('s0.tsv'), path('single.tsv'), '--out', path('m2.tsv')],
      /single\.tsv was not written with --shard/,
    );
  });

  it('refuses a shard given twice, and the same idx in two logs', async () => {
    await mergeError(
      [path('s0.tsv'), path('s0.tsv'), path('s1.tsv'), '--out', path('m3.tsv')],
      /s0\.tsv is given twice$/,
    );
    const copy = path('copy.tsv');
    copyFileSync(path('s0.tsv'), copy);
    copyFileSync(path('s0.tsv.manifest.json'), `${copy}.manifest.json`);
    await mergeError(
      [path('s0.tsv'), copy, path('s1.tsv'), '--out', path('m3.tsv')],
      /s0\.tsv and .*copy\.tsv are both shard 0\/2$/,
    );
    // shard 1's log holding one of shard 0's lines too
    const mixed = path('mixed.tsv');
    const s0 = readFileSync(path('s0.tsv'), 'utf8').split('\n');
    writeFileSync(mixed, readFileSync(path('s1.tsv'), 'utf8') + s0[1] + '\n');
    copyFileSync(path('s1.tsv.manifest.json'), `${mixed}.manifest.json`);
    await mergeError(
      [path('s0.tsv'), mixed, '--out', path('m3.tsv')],
      /mixed\.tsv holds idx 0, not in shard 1\/2$/,
    );
    // a log with an idx twice
    const twice = path('twice.tsv');
    writeFileSync(
      twice,
      readFileSync(path('s1.tsv'), 'utf8') + readFileSync(path('s1.tsv'), 'utf8').split('\n')[1] + '\n',
    );
    copyFileSync(path('s1.tsv.manifest.json'), `${twice}.manifest.json`);
    await mergeError([path('s0.tsv'), twice, '--out', path('m3.tsv')], /twice\.tsv has idx 3 twice$/);
  });

  it('refuses unfinished shards, logs without manifests and an existing --out', async () => {
    const unfinished = path('unfinished.tsv');
    const lines = readFileSync(path('s1.tsv'), 'utf8').split('\n');
    writeFileSync(unfinished, lines.slice(0, 3).join('\n') + '\n');
    const m = readManifest(path('s1.tsv.manifest.json'));
    writeFileSync(`${unfinished}.manifest.json`, JSON.stringify({ ...m, finished: null, lines: null }));
    await mergeError(
      [path('s0.tsv'), unfinished, '--out', path('m4.tsv')],
      /unfinished shard: .*unfinished\.tsv \(shard 1\/2\); rerun the same command with the same --out to finish it$/,
    );
    const bare = path('bare.tsv');
    copyFileSync(path('s1.tsv'), bare);
    await mergeError(
      [path('s0.tsv'), bare, '--out', path('m4.tsv')],
      /bare\.tsv has no manifest \(.*bare\.tsv\.manifest\.json\)/,
    );
    await mergeError(
      [path('s0.tsv'), path('nothing.tsv'), '--out', path('m4.tsv')],
      /no such log: .*nothing\.tsv$/,
    );
    await mergeError(
      [path('s0.tsv'), path('s1.tsv'), '--out', path('single.tsv')],
      /single\.tsv exists; choose another --out/,
    );
  });
});
