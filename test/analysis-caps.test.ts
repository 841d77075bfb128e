/**
 * Values at a radius beyond a run's sample-size cap (the largest radius its n allows) are marked
 * in `compare` and `analyze`, never bold, and the caption says what the mark means and points to
 * `--common-cap`: a run at n = 50 against one at n = 500 "differs" at r = 0.5 only because of n.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { comparisonTable, comparePaired, pairedTests, type PairedTests } from '../src/analysis/compare.js';
import type { Outcome } from '../src/analysis/metrics.js';
import { CAP_MARK } from '../src/analysis/table.js';
import { SAMPLE, cliInProcess, writeCentroidModel } from './helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'sr-caps-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** n inputs, all correct at `radius`, unanimous (the radius is the run's cap). */
const run = (n: number, radius: number): Outcome[] =>
  Array.from({ length: n }, (_, idx) => ({
    idx,
    label: 0,
    predict: 0,
    correct: true,
    radius,
    time: 0,
    unanimous: true,
  }));

describe('compare: beyond a cap nothing is significant', () => {
  const a = run(40, 0.3);
  const b = run(40, 0.6);
  it('without caps the difference at r = 0.5 is significant; with them it is not, and it is marked', () => {
    const plain = pairedTests(a, b, [0, 0.5], { resamples: 200 });
    assert.equal(plain.certified[1].significant, true);
    const capped = pairedTests(a, b, [0, 0.5], { resamples: 200, caps: [0.3, 0.6] });
    assert.deepEqual(capped.certified[1].beyondCap, { a: true, b: false });
    assert.equal(capped.certified[1].significant, false);
    assert.deepEqual(capped.certified[0].beyondCap, { a: false, b: false });
    assert.deepEqual(capped.caps, { a: 0.3, b: 0.6 });
    const md = comparisonTable(comparePaired(a, b), { a: 'A', b: 'B' }, 'md', 'input space', capped);
    const row = md.split('\n').find((l) => l.startsWith('| certified at r = 0.5'))!;
    assert.ok(row.includes(`.000${CAP_MARK}`), row);
    assert.doesNotMatch(row, /\*\*/, 'nothing bold beyond a cap');
    assert.match(md, /sample-size cap/);
    assert.match(md, /`compare --common-cap`/);
    const latex = comparisonTable(comparePaired(a, b), { a: 'A', b: 'B' }, 'latex', 'input space', capped);
    assert.match(latex, /\\textsuperscript\{\\dag\}/);
    assert.match(latex, /\\texttt\{compare --common-cap\}/);
    assert.doesNotMatch(latex, /`/, 'no Markdown backticks in LaTeX');
  });

  it('the caption says nothing of caps when no value is beyond one', () => {
    const t: PairedTests = pairedTests(a, b, [0, 0.25], { resamples: 200, caps: [0.3, 0.6] });
    const md = comparisonTable(comparePaired(a, b), { a: 'A', b: 'B' }, 'md', 'input space', t);
    assert.ok(!md.includes(CAP_MARK));
  });
});

describe('compare / analyze on logs at n = 50 and n = 500 (caps from the logs)', () => {
  const model = join(tmp, 'centroid.onnx');
  const small = join(tmp, 'n50.tsv');
  const large = join(tmp, 'n500.tsv');
  before(async () => {
    await writeCentroidModel(model);
    const common = [
      '--model',
      model,
      '--data',
      SAMPLE,
      '--max',
      '40',
      '--skip',
      '2',
      '--threads',
      '1',
      '--quiet',
    ];
    for (const [n, out] of [
      ['50', small],
      ['500', large],
    ]) {
      const r = await cliInProcess(['certify', ...common, '--n0', '20', '--n', n, '--out', out]);
      assert.equal(r.code, 0, r.stderr);
    }
  });

  it('compare marks the n = 50 run beyond its cap (0.283) and bolds nothing there', async () => {
    const r = await cliInProcess(['compare', small, large, '--radii', '0,0.25,0.5', '--resamples', '200']);
    assert.equal(r.code, 0, r.stderr);
    const row = r.stdout.split('\n').find((l) => l.startsWith('| certified at r = 0.5'))!;
    const cells = row.split('|').map((c) => c.trim());
    assert.ok(cells[2].endsWith(CAP_MARK), row);
    assert.ok(!cells[3].endsWith(CAP_MARK), row);
    assert.doesNotMatch(row, /\*\*/);
    const at025 = r.stdout.split('\n').find((l) => l.startsWith('| certified at r = 0.25'))!;
    assert.ok(!at025.includes(CAP_MARK), at025);
    const json = await cliInProcess([
      'compare',
      small,
      large,
      '--radii',
      '0.5',
      '--resamples',
      '200',
      '--format',
      'json',
    ]);
    const tests = (JSON.parse(json.stdout) as { tests: PairedTests }).tests;
    assert.deepEqual(tests.certified[0].beyondCap, { a: true, b: false });
    assert.ok(Math.abs(tests.caps.a! - 0.25 * 1.1312) < 0.002, String(tests.caps.a));
  });

  it('analyze marks the same value, and no value in that column is bold', async () => {
    const r = await cliInProcess(['analyze', small, large, '--radii', '0,0.25,0.5']);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('| RS'));
    assert.equal(rows.length, 2);
    const col = (row: string) => row.split('|').map((c) => c.trim())[5];
    assert.ok(col(rows[0]).endsWith(CAP_MARK), rows[0]);
    assert.ok(!col(rows[1]).includes(CAP_MARK), rows[1]);
    assert.ok(!col(rows[0]).startsWith('**') && !col(rows[1]).startsWith('**'));
    assert.match(r.stdout, /† : |†: at a radius beyond the run's sample-size cap/);
    assert.match(r.stdout, /`compare --common-cap`/);
  });
});
