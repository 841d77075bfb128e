/**
 * `smooth-reduce verify`, `sign`, `keygen` and the refusals of inconsistent logs (issues 24 and 28):
 * an untouched run verifies (and so do a merged and a resumed one); each kind of tampering fails
 * the right check naming the right file:line; resume, analyze, compare and merge refuse a log
 * whose lines disagree with their counts.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseLog } from '../src/io/log-format.js';
import { pae } from '../src/verify/attest.js';
import { logProblems, rederiveParams, toleranceOf } from '../src/verify/rederive.js';
import { REPO, SAMPLE, cliInProcess, writeCentroidModel } from './helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'sr-verify-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const model = join(tmp, 'centroid.onnx');
const other = join(tmp, 'other.onnx');
const key = join(tmp, 'signer');
const run = join(tmp, 'run.tsv');

const certifyArgs = (out: string, ...extra: string[]) => [
  'certify',
  '--model',
  model,
  '--data',
  SAMPLE,
  '--max',
  '12',
  '--n0',
  '10',
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
];

/** A copy of the run (log, manifest, attestation) under `name`, its log edited by `edit`. */
function copyRun(name: string, edit: (lines: string[]) => string[] = (l) => l): string {
  const out = join(tmp, name);
  const lines = readFileSync(run, 'utf8').split('\n');
  writeFileSync(out, edit(lines).join('\n'));
  copyFileSync(`${run}.manifest.json`, `${out}.manifest.json`);
  copyFileSync(`${run}.intoto.json`, `${out}.intoto.json`);
  return out;
}

/** The line of the log (1-based, header = 1) with field `column` replaced by `value`. */
const setField = (lines: string[], line: number, column: string, value: string) => {
  const header = lines[0].split('\t');
  const fields = lines[line - 1].split('\t');
  fields[header.indexOf(column)] = value;
  return lines.map((l, i) => (i === line - 1 ? fields.join('\t') : l));
};

const verify = (log: string, ...extra: string[]) => cliInProcess(['verify', log, ...extra]);
const full = ['--model', model, '--data', SAMPLE, '--key', `${key}.pub`];

/** The summary line of check `name` in verify's output. */
const checkLine = (stdout: string, name: string) =>
  stdout.split('\n').find((l) => l.includes(` ${name}: `)) ?? '';

before(async () => {
  await writeCentroidModel(model);
  await writeCentroidModel(other, 100);
  const r = await cliInProcess(certifyArgs(run));
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await cliInProcess(['keygen', key])).code, 0);
  const s = await cliInProcess(['sign', run, '--key', `${key}.key`, '--model', model, '--data', SAMPLE]);
  assert.equal(s.code, 0, s.stderr);
});

describe('verify', () => {
  it('an untouched run passes every check, --resample included; --json says the same', async () => {
    const r = await verify(run, ...full, '--resample', '3', '--resample-seed', '7');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const name of ['lines', 'rederive', 'model', 'data', 'resample', 'signature'])
      assert.match(checkLine(r.stdout, name), /^PASS /, name);
    assert.match(checkLine(r.stdout, 'resample'), /seed 7: idx /);
    const j = await verify(run, '--json');
    assert.equal(j.code, 0);
    const report = JSON.parse(j.stdout) as { ok: boolean; checks: { name: string; ok: boolean }[] };
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.checks.map((c) => c.name),
      ['lines', 'rederive'],
    );
  });

  it('a radius raised by 1e-6 fails the re-derivation, naming file:line', async () => {
    const written = readFileSync(run, 'utf8').split('\n')[3].split('\t')[3];
    const raised = (Number(written) + 1e-6).toFixed(6);
    const log = copyRun('raised.tsv', (l) => setField(l, 4, 'radius', raised));
    const r = await verify(log);
    assert.equal(r.code, 1);
    assert.match(
      checkLine(r.stdout, 'rederive'),
      new RegExp(`^FAIL rederive: ${log}:4: idx 2: radius ${raised} is above`),
    );
    assert.match(r.stderr, /1 of 2 checks failed \(rederive\)/);
  });

  it('a count changed fails the re-derivation', async () => {
    const log = copyRun('count.tsv', (l) => setField(l, 2, 'count_A', '190'));
    const r = await verify(log);
    assert.equal(r.code, 1);
    assert.match(checkLine(r.stdout, 'rederive'), new RegExp(`${log}:2: idx 0: pA_lower .* is above`));
  });

  it('a line removed or duplicated fails the structure check', async () => {
    const removed = copyRun('removed.tsv', (l) => l.filter((_, i) => i !== 5));
    const r = await verify(removed);
    assert.equal(r.code, 1);
    assert.match(checkLine(r.stdout, 'lines'), /1 selected input\(s\) missing \(first idx 4\)/);
    const twice = copyRun('twice.tsv', (l) => [...l.slice(0, -1), l[3], '']);
    const d = await verify(twice);
    assert.equal(d.code, 1);
    assert.match(checkLine(d.stdout, 'lines'), new RegExp(`${twice}:14: idx 2 again \\(first on line 4\\)`));
  });

  it('a manifest option changed fails the re-derivation, or the signature', async () => {
    const log = copyRun('sigma.tsv');
    const manifest = `${log}.manifest.json`;
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('"sigma": 0.25', '"sigma": 0.2'));
    const r = await verify(log, '--key', `${key}.pub`);
    assert.equal(r.code, 1);
    assert.match(
      checkLine(r.stdout, 'rederive'),
      new RegExp(`FAIL rederive: ${log}:2: idx 0: radius_smoothing`),
    );
    assert.match(
      checkLine(r.stdout, 'signature'),
      /FAIL signature: .*the manifest's sha256 is not the signed one/,
    );
    // the seed changes no written number: only the signature (or a re-run) tells
    const seeded = copyRun('seed.tsv');
    const m2 = `${seeded}.manifest.json`;
    writeFileSync(m2, readFileSync(m2, 'utf8').replace('"seed": 0', '"seed": 1'));
    const s = await verify(seeded, '--key', `${key}.pub`);
    assert.equal(s.code, 1);
    assert.match(checkLine(s.stdout, 'rederive'), /^PASS /);
    assert.match(checkLine(s.stdout, 'signature'), /^FAIL /);
  });

  it('a different model file fails the model check', async () => {
    const r = await verify(run, '--model', other);
    assert.equal(r.code, 1);
    assert.match(
      checkLine(r.stdout, 'model'),
      /^FAIL model: .*other\.onnx: the \.onnx file differs \(sha256 [0-9a-f]{12}\.\.\. here/,
    );
  });

  it('--resample fails on counts edited within what re-derivation allows', async () => {
    // a lower count (with its lower pA and radii) is sound on its face; only a re-run shows it is not the model's
    const lines = readFileSync(run, 'utf8').split('\n');
    const line = 2;
    let edited = setField(lines, line, 'count_A', '150');
    edited = setField(edited, line, 'pA_lower', '0.5');
    edited = setField(edited, line, 'radius', '0.001');
    edited = setField(edited, line, 'radius_smoothing', '0.001');
    const log = copyRun('resample.tsv', () => edited);
    const r = await verify(log, '--model', model, '--data', SAMPLE, '--resample', '12');
    assert.equal(r.code, 1);
    assert.match(checkLine(r.stdout, 'rederive'), /^PASS /);
    assert.match(
      checkLine(r.stdout, 'resample'),
      new RegExp(`FAIL resample: ${log}:2: idx 0 re-run gives radius [0-9.]+ \\(log: 0.001\\), pA_lower`),
    );
  });

  it('the signature fails on a flipped byte in the log, the manifest or the envelope', async () => {
    const flip = (path: string, at: (text: string) => number) => {
      const bytes = readFileSync(path);
      bytes[at(bytes.toString('latin1'))] ^= 1;
      writeFileSync(path, bytes);
    };
    // the time column: no other check sees it
    const log = copyRun('flip-log.tsv', (l) => setField(l, 3, 'time', '9.999'));
    const a = await verify(log, '--key', `${key}.pub`);
    assert.equal(a.code, 1);
    assert.match(
      checkLine(a.stdout, 'signature'),
      /FAIL signature: .*the log's sha256 is not the signed one/,
    );
    const manifest = copyRun('flip-manifest.tsv');
    flip(`${manifest}.manifest.json`, (t) => t.indexOf('"started"') + 15);
    const b = await verify(manifest, '--key', `${key}.pub`);
    assert.equal(b.code, 1);
    assert.match(checkLine(b.stdout, 'signature'), /the manifest's sha256 is not the signed one/);
    for (const [name, at] of [
      ['flip-payload.tsv', (t: string) => t.indexOf('"payload": "') + 40],
      ['flip-sig.tsv', (t: string) => t.indexOf('"sig": "') + 20],
    ] as const) {
      const env = copyRun(name);
      flip(`${env}.intoto.json`, at);
      const c = await verify(env, '--key', `${key}.pub`);
      assert.equal(c.code, 1, name);
      assert.match(
        checkLine(c.stdout, 'signature'),
        /FAIL signature: .*(no valid signature|not canonical base64)/,
        name,
      );
    }
    // another key
    await cliInProcess(['keygen', join(tmp, 'stranger')]);
    const k = await verify(run, '--key', join(tmp, 'stranger.pub'));
    assert.equal(k.code, 1);
    assert.match(checkLine(k.stdout, 'signature'), /no valid signature by key/);
  });

  it('runs written by merge and by a resumed run verify like local ones', async () => {
    const shards = [0, 1].map((i) => join(tmp, `shard${i}.tsv`));
    for (const [i, out] of shards.entries())
      assert.equal((await cliInProcess(certifyArgs(out, '--shard', `${i}/2`))).code, 0);
    for (const out of shards) assert.equal((await verify(out)).code, 0);
    const merged = join(tmp, 'merged.tsv');
    assert.equal((await cliInProcess(['merge', ...shards, '--out', merged, '--quiet'])).code, 0);
    const m = await verify(merged, '--model', model, '--data', SAMPLE, '--resample', '2');
    assert.equal(m.code, 0, m.stdout);
    // resumed: cut to 5 lines as a killed run leaves it, then the same command again
    const resumed = copyRun('resumed.tsv', (l) => [...l.slice(0, 5), '']);
    const manifest = JSON.parse(readFileSync(`${resumed}.manifest.json`, 'utf8')) as Record<string, unknown>;
    writeFileSync(`${resumed}.manifest.json`, JSON.stringify({ ...manifest, finished: null, lines: null }));
    assert.equal((await verify(resumed)).code, 1, 'an unfinished run does not verify');
    assert.equal((await cliInProcess(certifyArgs(resumed))).code, 0);
    const r = await verify(resumed, '--model', model, '--data', SAMPLE, '--resample', '2');
    assert.equal(r.code, 0, r.stdout);
  });

  it('bad input is one line and a non-zero exit', async () => {
    for (const args of [
      ['verify', join(tmp, 'none.tsv')],
      ['verify', run, '--resample', '2'],
      ['verify', run, '--resample', '0', '--model', model, '--data', SAMPLE],
      ['verify', run, '--key', join(tmp, 'none.pub')],
      ['sign', run, '--key', `${key}.pub`, '--model', model, '--data', SAMPLE],
      ['keygen', key],
    ]) {
      const r = await cliInProcess(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
    const s = await cliInProcess([
      'sign',
      copyRun('unsigned.tsv', (l) => setField(l, 2, 'radius', '9.999')),
      '--key',
      `${key}.key`,
      '--model',
      model,
      '--data',
      SAMPLE,
    ]);
    assert.equal(s.code, 2);
    assert.match(s.stderr, /will not sign .*rederive: .*:2: idx 0: radius 9.999 is above/);
  });
});

describe('inconsistent logs are refused (issue 24)', () => {
  it('resume refuses a duplicated line', async () => {
    const out = join(tmp, 'dup-resume.tsv');
    copyFileSync(run, out);
    copyFileSync(`${run}.manifest.json`, `${out}.manifest.json`);
    const lines = readFileSync(out, 'utf8').split('\n');
    // cut to 8 lines and repeat one: the resumed run would count idx 3 twice
    writeFileSync(out, [...lines.slice(0, 8), lines[4], ''].join('\n'));
    const r = await cliInProcess(certifyArgs(out));
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`^smooth-reduce: ${out}:9: idx 3 again \\(first on line 5\\)`));
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  it('resume, analyze, compare and merge refuse a radius edited to 9.999', async () => {
    const edited = copyRun('edited.tsv', (l) => setField(l, 3, 'radius', '9.999'));
    const message = new RegExp(`${edited}:3: idx 1: radius 9.999 is above 0.45641`);
    for (const args of [['analyze', edited], ['compare', run, edited], certifyArgs(edited)]) {
      const r = await cliInProcess(args);
      assert.equal(r.code, 2, args[0]);
      assert.match(r.stderr, message, args[0]);
    }
    const shards = [0, 1].map((i) => join(tmp, `eshard${i}.tsv`));
    for (const [i, out] of shards.entries())
      assert.equal((await cliInProcess(certifyArgs(out, '--shard', `${i}/2`))).code, 0);
    writeFileSync(
      shards[1],
      setField(readFileSync(shards[1], 'utf8').split('\n'), 2, 'radius', '9.999').join('\n'),
    );
    const m = await cliInProcess(['merge', ...shards, '--out', join(tmp, 'emerged.tsv')]);
    assert.equal(m.code, 2);
    assert.match(m.stderr, new RegExp(`merge: ${shards[1]}:2: idx 1: radius 9.999 is above`));
  });
});

describe('re-derivation', () => {
  it('every committed result log re-derives (exactly where its manifest says it rounds toward zero)', () => {
    const files = execFileSync('git', ['ls-files', 'docs/results/logs'], { cwd: REPO, encoding: 'utf8' })
      .split('\n')
      .filter((f) => f.endsWith('.tsv'));
    assert.ok(files.length > 100);
    let exact = 0;
    for (const f of files) {
      const path = join(REPO, f);
      const manifest = JSON.parse(readFileSync(`${path}.manifest.json`, 'utf8')) as Parameters<
        typeof rederiveParams
      >[0];
      const p = rederiveParams(manifest);
      assert.equal(typeof p, 'object', f);
      if (typeof p === 'string') continue;
      if (toleranceOf(manifest as never) === 'exact') exact++;
      assert.deepEqual(
        logProblems(parseLog(readFileSync(path, 'utf8'), f), p, toleranceOf(manifest as never)),
        [],
        f,
      );
    }
    assert.ok(exact > 100, `${exact} logs checked exactly`);
  });

  it('DSSE pre-authentication encoding as the spec gives it', () => {
    assert.equal(
      pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString(),
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
  });
});
