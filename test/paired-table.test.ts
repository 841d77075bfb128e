/**
 * scripts/paired-table.ts, which writes the paper-vs-ours tables of docs/results.md: the ACR ratio
 * and its verdict, one row per radius space (one when the spaces coincide), the ratio with both
 * runs clipped at the lower sample-size cap, and pairs whose logs are missing left out; and
 * scripts/check-summary.ts, which checks the hand-written summary's numbers against those tables.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { REPO } from './helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'sr-paired-table-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const header = 'idx\tlabel\tpredict\tradius\tcorrect\ttime\tpA_lower\tradius_smoothing\tcount_A\tn\n';
/** A log of 40 correct inputs: radius r(i) in input space, r(i) * scale in smoothing space. */
function log(name: string, radius: (i: number) => number, scale: number, capAt: number): string {
  const lines = Array.from({ length: 40 }, (_, i) => {
    const r = Math.min(radius(i), capAt);
    const count = r === capAt ? 1000 : 990;
    return `${i}\t1\t1\t${r}\t1\t1\t0.99\t${r * scale}\t${count}\t1000\n`;
  });
  const path = join(tmp, name);
  writeFileSync(path, header + lines.join(''));
  return path;
}

function table(...pairs: string[]): string[][] {
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      'scripts/paired-table.ts',
      '--resamples',
      '2000',
      ...pairs.flatMap((p) => ['--pair', p]),
    ],
    { cwd: REPO, encoding: 'utf8' },
  );
  return out
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| comparison') && !l.startsWith('| :'))
    .map((l) => l.split('|').map((c) => c.trim()));
}

describe('scripts/paired-table.ts', () => {
  // RS: radii 0.1 .. 0.8, capped at 0.8; "Smooth-Reduce": the same radii in smoothing space, divided
  // by 1.13 in input space, so capped at 0.8 / 1.13 there
  const rs = log('rs.tsv', (i) => 0.1 + 0.02 * i, 1, 0.8);
  const sr = log('sr.tsv', (i) => (0.1 + 0.02 * i) / 1.13, 1.13, 0.8 / 1.13);

  it('the ratio in both spaces, its verdict, and the ratio without the caps', () => {
    const rows = table(`SR / RS|${sr}|${rs}|1.2x`, `missing|${join(tmp, 'none.tsv')}|${rs}|`);
    assert.equal(rows.length, 2, 'two spaces for the pair, nothing for the missing log');
    const [input, smoothing] = rows;
    assert.equal(input[1], 'SR / RS');
    assert.equal(input[3], 'input');
    assert.match(input[5], /^\.885 /, 'ACR ratio 1 / 1.13 in input space');
    assert.equal(input[8], '1.2x');
    assert.equal(input[9], 'A lower');
    // clipped at SR's cap (0.708), the two runs are equal: the whole input-space gap is the division
    assert.match(input[10], /^\.\d{3} \[/);
    const clipped = Number(`0${input[10].split(' ')[0]}`);
    assert.ok(clipped > 0.885 && clipped < 0.95, `clipped ratio ${clipped}`);
    assert.match(input[10], /\(at \.708\)$/);
    assert.equal(smoothing[3], 'smoothing');
    assert.match(smoothing[5], /^1\.000 \[1\.000, 1\.000\]/);
    assert.equal(smoothing[9], 'no significant difference');
  });

  it('one row when the spaces coincide (RS against RS)', () => {
    const rows = table(`RS / RS|${rs}|${rs}|`);
    assert.equal(rows.length, 1);
    assert.equal(rows[0][3], 'input = smoothing');
  });
});

describe('scripts/check-summary.ts', () => {
  const check = (doc: string, tables: string, logs = emptyLogs) =>
    spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/check-summary.ts', '--doc', doc, '--tables', tables, '--logs', logs],
      {
        cwd: REPO,
        encoding: 'utf8',
      },
    );
  const folder = join(tmp, 'tables');
  mkdirSync(folder, { recursive: true });
  const emptyLogs = join(tmp, 'logs');
  mkdirSync(emptyLogs, { recursive: true });
  writeFileSync(join(folder, 'pairs.md'), '| Mean / RS | .855 [.792, .920] | 1.048 [1.012, 1.089] |\n');
  const doc = (summary: string) => {
    const path = join(tmp, 'results.md');
    writeFileSync(
      path,
      `# Results\n\n## Summary\n\n${summary}\n\n## Details\n\n.111 [.000, .222] is not checked here\n`,
    );
    return path;
  };

  it('passes when every number with an interval in the summary is in a table', () => {
    const r = check(doc('| Mean / RS | .855 [.792, .920]; Mean / Max 1.048 [1.012, 1.089] |'), folder);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /2 of 2 numbers/);
  });

  it('names a number that no table has, with its line, and fails', () => {
    const r = check(doc('Mean / RS .817 [.737, .897] (a stale copy)'), folder);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /results\.md:5: \.817 \[\.737, \.897\]/);
    assert.match(r.stdout, /0 of 1 numbers/);
  });

  it('fails on a log whose manifest does not name the current sampler, and names it', () => {
    const logs = join(tmp, 'stale-logs');
    mkdirSync(logs, { recursive: true });
    writeFileSync(join(logs, 'old.tsv'), 'idx\tlabel\tpredict\tradius\tcorrect\ttime\n');
    writeFileSync(join(logs, 'old.tsv.manifest.json'), JSON.stringify({ options: { sigma: 0.25 } }));
    const r = check(doc('| Mean / RS | .855 [.792, .920] |'), folder, logs);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /not drawn with the current sampler: .*old\.tsv \(no sampler named\)/);
    assert.match(r.stdout, /1 log\(s\) in .* do not name the current sampler/);
  });
});
