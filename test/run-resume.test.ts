/**
 * Resuming a certification run: a child process killed with SIGKILL at random moments and rerun with
 * the same --out until done writes exactly the log of one uninterrupted run (apart from the time
 * column), every index once and no torn line; a different configuration on the same --out is refused.
 */
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readManifest } from '../src/io/manifest.js';
import { SAMPLE, cliInProcess, finished, spawnCli, withoutTime, writeCentroidModel } from './helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'sr-resume-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const model = join(tmp, 'centroid.onnx');
const TOTAL = 120;
const args = (out: string, ...extra: string[]) => [
  'certify',
  '--model',
  model,
  '--data',
  SAMPLE,
  '--max',
  String(TOTAL),
  '--method',
  'mean',
  '--n0',
  '10',
  '--n',
  '60',
  '--batch',
  '15',
  '--threads',
  '1',
  '--quiet',
  ...extra,
  '--out',
  out,
];

/** Complete lines in the log (header included), 0 when it does not exist yet. */
function completeLines(path: string): number {
  if (!existsSync(path)) return 0;
  const text = readFileSync(path, 'utf8');
  let k = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) k++;
  return k;
}

const reference = join(tmp, 'reference.tsv');
before(async () => {
  await writeCentroidModel(model);
  const r = await cliInProcess(args(reference));
  assert.equal(r.code, 0, r.stderr);
});

describe('resume', () => {
  it('SIGKILL at random moments, rerun until done: the log of one uninterrupted run', async () => {
    const out = join(tmp, 'killed.tsv');
    const kills: number[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      // kill once the child has written 3 to 25 more lines than the log held
      const target = completeLines(out) + 3 + Math.floor(Math.random() * 23);
      const child = spawnCli(args(out));
      const exit = finished(child);
      let exited = false;
      void exit.then(() => (exited = true));
      while (!exited && completeLines(out) < target) await sleep(5);
      if (exited) break; // finished before the kill
      child.kill('SIGKILL');
      const r = await exit;
      assert.equal(r.signal, 'SIGKILL', `attempt ${attempt}: ${r.stderr}`);
      kills.push(completeLines(out) - 1);
      // as if the kill had cut a line in half
      if (attempt === 1) appendFileSync(out, `${TOTAL - 1}\t3\t3\t0.1`);
    }
    assert.ok(kills.length >= 1, 'at least one run was killed');
    const lines = completeLines(out) - 1;
    assert.ok(lines < TOTAL, `killed before the end (${lines} lines after kills at ${kills.join(', ')})`);
    const manifest = readManifest(`${out}.manifest.json`);
    assert.equal(manifest.finished, null, 'a killed run is unfinished');

    const r = await finished(spawnCli([...args(out)]));
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(out, 'utf8');
    assert.ok(text.endsWith('\n'), 'no torn last line');
    const idx = text
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((l) => Number(l.split('\t')[0]));
    assert.deepEqual(
      idx,
      Array.from({ length: TOTAL }, (_, i) => i),
      `every index once (kills after ${kills.join(', ')} lines)`,
    );
    assert.equal(withoutTime(out), withoutTime(reference), `kills after ${kills.join(', ')} lines`);
    const done = readManifest(`${out}.manifest.json`);
    assert.ok(done.finished);
    assert.equal(done.lines, TOTAL);
    assert.equal(done.started, manifest.started, 'started is kept from the first session');
    // every session is on record: the killed ones with the inputs each left, then the last one
    const sessions = done.earlierSessions ?? [];
    assert.deepEqual(
      sessions.map((s) => s.lines),
      kills,
      'one earlier session per killed run, with the lines it left',
    );
    assert.equal(sessions[0].started, done.started, 'the first session started the run');
    for (const [k, s] of sessions.entries()) {
      assert.equal(s.execution.threads, 1, `session ${k}: its threads`);
      assert.equal(s.machine.cores, done.machine.cores, `session ${k}: its machine`);
      if (k > 0)
        assert.ok(s.started > sessions[k - 1].started, `session ${k} started after session ${k - 1}`);
    }
    assert.ok(
      done.resumed && done.resumed > sessions[sessions.length - 1].started,
      'the last session resumed it',
    );
  });

  it('a finished run run again adds nothing and leaves its log and manifest as they were', async () => {
    const log = readFileSync(reference, 'utf8');
    const manifest = readFileSync(`${reference}.manifest.json`, 'utf8');
    const r = await cliInProcess(args(reference));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(reference, 'utf8'), log);
    assert.equal(
      readFileSync(`${reference}.manifest.json`, 'utf8'),
      manifest,
      'finish time and machine kept',
    );
  });

  it('refuses another configuration on the same --out, and results without a manifest', async () => {
    const before = readFileSync(reference, 'utf8');
    const r = await cliInProcess(args(reference, '--sigma', '0.5'));
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      `smooth-reduce: ${reference} belongs to another run (options.sigma: 0.25 -> 0.5); choose another --out or delete it\n`,
    );
    const seed = await cliInProcess(args(reference, '--seed', '3', '--skip', '2'));
    assert.equal(seed.code, 2);
    assert.match(seed.stderr, /options\.seed: 0 -> 3, selection\.skip: 1 -> 2\); choose another --out/);
    assert.equal(readFileSync(reference, 'utf8'), before, 'the log is left alone');

    const orphan = join(tmp, 'orphan.tsv');
    appendFileSync(orphan, before);
    const o = await cliInProcess(args(orphan));
    assert.equal(o.code, 2);
    assert.match(
      o.stderr,
      /^smooth-reduce: .*orphan\.tsv has results but no manifest beside it; choose another --out\n$/,
    );
    unlinkSync(orphan);
  });
});
