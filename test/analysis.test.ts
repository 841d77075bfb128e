import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { comparePaired, comparisonTable } from '../src/analysis/compare.js';
import { outcomes, readLog, runCap, runLabels, spaceDescription } from '../src/analysis/log.js';
import {
  abstentionRate,
  averageCertifiedRadius,
  certifiedAccuracy,
  certifiedAccuracyCurve,
  cleanAccuracy,
  clipRadii,
  meanTime,
  sampleCap,
  summarize,
  type Outcome,
} from '../src/analysis/metrics.js';
import { loadRuns } from '../src/analysis/runs.js';
import { parseRadii, parseSpace } from '../src/cli/log-options.js';
import { latexEscape, parseTableFormat, summaryTable, type SummaryRow } from '../src/analysis/table.js';
import { UsageError } from '../src/core/errors.js';
import { parseDuration, parseLog } from '../src/io/tsv-log.js';
import { COHEN_SKIP, cohenLog, fixture } from './fixtures/analysis/paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'sr-analysis-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
};
const close = (actual: number | null, expected: number, eps = 1e-12) =>
  assert.ok(actual !== null && Math.abs(actual - expected) <= eps, `${actual} != ${expected}`);

describe('log: durations', () => {
  it('reads seconds and Python timedelta strings', () => {
    assert.equal(parseDuration('15.4'), 15.4);
    assert.equal(parseDuration('3'), 3);
    assert.equal(parseDuration('1e-3'), 0.001);
    close(parseDuration('0:02:31.238689'), 151.238689, 1e-9);
    assert.equal(parseDuration('0:00:00.158496'), 0.158496);
    assert.equal(parseDuration('1:00:00'), 3600);
    assert.equal(parseDuration('1 day, 2:03:04.5'), 93784.5);
    assert.equal(parseDuration('2 days, 0:00:01'), 172801);
  });
  it('refuses what is not a duration', () => {
    for (const bad of ['', 'abc', '-1', '1:75:00', '0:00:61', '1:2', 'NaN', 'Infinity']) {
      assert.equal(parseDuration(bad), null, bad);
    }
  });
});

describe('log: parsing', () => {
  it('reads our log with extra columns and its manifest', () => {
    const log = readLog(fixture('run-a.tsv'));
    assert.equal(log.kind, 'certify');
    assert.equal(log.rows.length, 10);
    assert.deepEqual(log.warnings, []);
    assert.equal(log.manifest?.label, 'Smooth-Mean (9 patches, correlated)');
    const r = log.rows[4];
    assert.deepEqual(
      { idx: r.idx, label: r.label, predict: r.predict, correct: r.correct, radius: r.radius, time: r.time },
      { idx: 4, label: 5, predict: 5, correct: true, radius: 1, time: 2.5 },
    );
    assert.equal(r.radiusSmoothing, 1.125);
    assert.equal(r.fields.count_A, '99999');
    assert.equal(r.line, 6);
    assert.equal(log.rows[1].predict, -1);
  });

  it("reads Cohen's H:MM:SS.ffffff times", () => {
    const log = readLog(fixture('run-b.tsv'));
    assert.equal(log.manifest, null);
    assert.equal(log.rows[0].time, 1.25);
    assert.equal(log.rows[9].time, 3600);
    assert.equal(log.rows[0].radiusSmoothing, null);
  });

  it('reads PREDICT logs (no radius column)', () => {
    const log = readLog(fixture('predict.tsv'));
    assert.equal(log.kind, 'predict');
    assert.equal(log.rows[2].radius, null);
    assert.equal(log.rows[2].predict, -1);
  });

  it('finds columns by name, not position', () => {
    const log = parseLog(
      'time\tcorrect\textra\tradius\tpredict\tlabel\tidx\n2.5\t1\tx\t0.75\t4\t4\t40\n',
      'shuffled',
    );
    assert.deepEqual(
      { ...log.rows[0], fields: undefined },
      {
        idx: 40,
        label: 4,
        predict: 4,
        correct: true,
        radius: 0.75,
        radiusSmoothing: null,
        time: 2.5,
        fields: undefined,
        line: 2,
      },
    );
  });

  it('tolerates a trailing newline, CRLF and blank lines', () => {
    const text =
      'idx\tlabel\tpredict\tradius\tcorrect\ttime\r\n0\t1\t1\t0.5\t1\t1.0\r\n\n1\t2\t2\t0.5\t1\t1.0\n\n';
    const log = parseLog(text, 'x');
    assert.equal(log.rows.length, 2);
    assert.deepEqual(log.warnings, []);
  });

  it('reports and ignores a torn last line', () => {
    const path = write(
      'torn.tsv',
      'idx\tlabel\tpredict\tradius\tcorrect\ttime\n0\t1\t1\t0.5\t1\t1.0\n1\t2\t2\t0.',
    );
    const log = readLog(path);
    assert.equal(log.rows.length, 1);
    assert.equal(log.warnings.length, 1);
    assert.match(log.warnings[0], /torn\.tsv:3: ignored an incomplete last line/);
  });

  it('a header-only log has no rows', () => {
    assert.equal(parseLog('idx\tlabel\tpredict\tradius\tcorrect\ttime\n', 'x').rows.length, 0);
  });

  it('malformed input: one-line UsageError naming file and line', () => {
    const header = 'idx\tlabel\tpredict\tradius\tcorrect\ttime\n';
    const cases: [string, RegExp][] = [
      ['', /^f\.tsv: empty log/],
      ['idx\tlabel\tpredict\tradius\ttime\n', /^f\.tsv:1: not a certification log: no 'correct' column/],
      ['idx\tidx\tlabel\n', /^f\.tsv:1: bad header \(column 'idx' twice\)/],
      [
        header + '0\t1\t1\t0.5\t1\t1\n1\t2\t2\t0.5\t1\n',
        /^f\.tsv:3: expected 6 tab-separated fields .* found 5$/,
      ],
      [header + '0\t1\t1\t0.5\t2\t1\n', /^f\.tsv:2: bad correct '2'/],
      [header + '0\t1\t1\tabc\t1\t1\n', /^f\.tsv:2: bad radius 'abc'/],
      [header + '0\t1\t1\t-0.5\t1\t1\n', /^f\.tsv:2: bad radius '-0.5'/],
      [header + '0.5\t1\t1\t0.5\t1\t1\n', /^f\.tsv:2: bad idx '0.5'/],
      [header + '0\t1\t-2\t0.5\t1\t1\n', /^f\.tsv:2: bad predict '-2'/],
      [header + '0\t1\t1\t0.5\t1\t1:99\n', /^f\.tsv:2: bad time '1:99'/],
    ];
    for (const [text, message] of cases) {
      assert.throws(
        () => parseLog(text, 'f.tsv'),
        (e: unknown) => e instanceof UsageError && message.test(e.message) && !e.message.includes('\n'),
        JSON.stringify(text),
      );
    }
  });

  it('missing file, directory, broken manifest: UsageError', () => {
    assert.throws(() => readLog(join(tmp, 'nope.tsv')), /no such log: .*nope\.tsv/);
    assert.throws(() => readLog(tmp), UsageError);
    const path = write('m.tsv', 'idx\tlabel\tpredict\tradius\tcorrect\ttime\n');
    writeFileSync(`${path}.manifest.json`, '{ "format": "something-else" }');
    assert.throws(() => readLog(path), /is not a run manifest/);
    writeFileSync(`${path}.manifest.json`, '{ not json');
    assert.throws(() => readLog(path), /cannot read run manifest/);
  });
});

describe('log: labels and spaces', () => {
  it('labels from the manifest, else the path', () => {
    const labels = runLabels([
      { path: 'runs/a.tsv', manifest: { format: 'smooth-reduce-run', label: 'Smooth-Max' } },
      { path: 'data/certify/cifar10/resnet110/noise_0.25/test/sigma_0.25', manifest: null },
      { path: 'runs/plain-rs.tsv', manifest: null },
    ]);
    assert.deepEqual(labels, ['Smooth-Max', 'noise_0.25/test/sigma_0.25', 'plain-rs']);
  });

  it('disambiguates equal labels with more of the path', () => {
    const labels = runLabels([
      { path: 'x/cifar/run.tsv', manifest: null },
      { path: 'x/mnist/run.tsv', manifest: null },
      { path: 'p/run1.tsv', manifest: { format: 'smooth-reduce-run', label: 'RS' } },
      { path: 'p/run2.tsv', manifest: { format: 'smooth-reduce-run', label: 'RS' } },
    ]);
    assert.deepEqual(labels, ['cifar/run', 'mnist/run', 'RS (run1)', 'RS (run2)']);
  });

  it('picks the radius of the asked space', () => {
    const log = readLog(fixture('run-a.tsv'));
    assert.equal(outcomes(log, 'input')[0].radius, 0.5);
    assert.equal(outcomes(log, 'smoothing')[0].radius, 0.5625);
    assert.equal(spaceDescription([log], 'input'), 'input space');
    assert.equal(spaceDescription([log], 'smoothing'), 'smoothing space: resized image 36x36');
    assert.throws(
      () => outcomes(readLog(fixture('run-b.tsv')), 'smoothing'),
      /has no radius_smoothing column/,
    );
  });
});

describe('metrics', () => {
  const a = outcomes(readLog(fixture('run-a.tsv')));
  // correct inputs of run-a certify 0.5, 0.25, 1.0, 0.1, 0.75, 0.25 and 0; 2 of 10 abstain
  it('certified accuracy at radii (>= r, as Cohen et al.)', () => {
    assert.equal(certifiedAccuracy(a, 0), 0.7);
    assert.equal(certifiedAccuracy(a, 0.05), 0.6);
    assert.equal(certifiedAccuracy(a, 0.1), 0.6);
    assert.equal(certifiedAccuracy(a, 0.25), 0.5);
    assert.equal(certifiedAccuracy(a, 0.5), 0.3);
    assert.equal(certifiedAccuracy(a, 0.75), 0.2);
    assert.equal(certifiedAccuracy(a, 0.8), 0.1);
    assert.equal(certifiedAccuracy(a, 1), 0.1);
    assert.equal(certifiedAccuracy(a, 1.0001), 0);
    assert.throws(() => certifiedAccuracy(a, -1), RangeError);
  });

  it('clean accuracy, ACR, abstention, time', () => {
    assert.equal(cleanAccuracy(a), 0.7);
    close(averageCertifiedRadius(a), 0.285);
    assert.equal(abstentionRate(a), 0.2);
    close(meanTime(a), 1.45);
    const s = summarize(a, [0, 0.25, 0.5]);
    assert.equal(s.count, 10);
    assert.deepEqual(s.certifiedAccuracy, [
      { radius: 0, accuracy: 0.7 },
      { radius: 0.25, accuracy: 0.5 },
      { radius: 0.5, accuracy: 0.3 },
    ]);
  });

  it('smoothing space uses radius_smoothing', () => {
    const s = outcomes(readLog(fixture('run-a.tsv')), 'smoothing');
    assert.equal(certifiedAccuracy(s, 0.8), 0.2);
    assert.equal(certifiedAccuracy(s, 1.125), 0.1);
    close(averageCertifiedRadius(s), 0.320625);
  });

  it('the sample-size cap (count_A = n) and radii clipped at it', () => {
    const header = 'idx\tlabel\tpredict\tradius\tcorrect\ttime\tpA_lower\tradius_smoothing\tcount_A\tn\n';
    const log = write(
      'capped.tsv',
      header +
        '0\t1\t1\t0.7071\t1\t1\t0.9993\t0.799\t10000\t10000\n' +
        '1\t2\t2\t0.7069\t1\t1\t0.9993\t0.799\t10000\t10000\n' +
        '2\t3\t3\t0.5\t1\t1\t0.98\t0.565\t9950\t10000\n' +
        '3\t4\t5\t0.9\t0\t1\t0.9993\t1.017\t10000\t10000\n',
    );
    const input = outcomes(readLog(log));
    assert.deepEqual(
      input.map((o) => o.unanimous),
      [true, true, false, true],
    );
    // the smallest unanimous radius (the centre's deduction differs per input), wrong ones included
    assert.equal(sampleCap(input), 0.7069);
    assert.equal(sampleCap(outcomes(readLog(log), 'smoothing')), 0.799);
    const clipped = clipRadii(input, 0.6);
    assert.deepEqual(
      clipped.map((o) => o.radius),
      [0.6, 0.6, 0.5, 0.6],
    );
    close(averageCertifiedRadius(clipped), (0.6 + 0.6 + 0.5) / 4);
    assert.deepEqual(clipRadii(input, Infinity), input);
    // logs without count_A / n (Cohen et al.'s) have no known cap
    assert.equal(sampleCap(outcomes(readLog(fixture('run-b.tsv')))), Infinity);
  });

  it("a run's cap: observed where an input was unanimous, else from the manifest's sigma, n, alpha", () => {
    const header = 'idx\tlabel\tpredict\tradius\tcorrect\ttime\tpA_lower\tradius_smoothing\tcount_A\tn\n';
    const rows = (count: number) =>
      header +
      `0\t1\t1\t0.5\t1\t1\t0.98\t0.565\t${count}\t10000\n1\t2\t2\t0.3\t1\t1\t0.9\t0.339\t9000\t10000\n`;
    const manifest = {
      format: 'smooth-reduce-run',
      options: { sigma: 0.25, n: 10000, alpha: 0.001 },
      noiseScale: 1.13,
    };
    const split = write('cap-none.tsv', rows(9950));
    writeFileSync(`${split}.manifest.json`, JSON.stringify(manifest));
    const log = readLog(split);
    // reference: 0.25 * scipy.stats.norm.ppf(0.001 ** (1 / 10000)) = 0.7996443786845846
    close(runCap(log, outcomes(log, 'smoothing'), 'smoothing'), 0.7996443786845846, 1e-9);
    close(runCap(log, outcomes(log, 'input'), 'input'), 0.7996443786845846 / 1.13, 1e-9);
    // an observed unanimous input decides (it carries the float deductions the formula leaves out)
    const unanimous = write(
      'cap-one.tsv',
      rows(10000).replace('\t0.5\t1\t1\t0.98\t0.565', '\t0.7076\t1\t1\t0.9993\t0.7996'),
    );
    writeFileSync(`${unanimous}.manifest.json`, JSON.stringify(manifest));
    const one = readLog(unanimous);
    assert.equal(runCap(one, outcomes(one), 'input'), 0.7076);
    // no manifest (or a per-input norm: random patches) and no unanimous input: unknown
    const bare = readLog(write('cap-bare.tsv', rows(9950)));
    assert.equal(runCap(bare, outcomes(bare), 'input'), Infinity);
    writeFileSync(`${split}.manifest.json`, JSON.stringify({ ...manifest, noiseScale: null }));
    const random = readLog(split);
    assert.equal(runCap(random, outcomes(random), 'input'), Infinity);
    close(runCap(random, outcomes(random, 'smoothing'), 'smoothing'), 0.7996443786845846, 1e-9);
  });

  it('PREDICT logs: clean accuracy only', () => {
    const p = outcomes(readLog(fixture('predict.tsv')));
    assert.equal(cleanAccuracy(p), 0.5);
    assert.equal(certifiedAccuracy(p, 0.25), null);
    assert.equal(averageCertifiedRadius(p), null);
    assert.equal(abstentionRate(p), 0.25);
    assert.equal(meanTime(p), 0.5);
  });

  it('no inputs: nothing defined', () => {
    const s = summarize([], [0, 0.5]);
    assert.deepEqual(s, {
      count: 0,
      cleanAccuracy: null,
      abstentionRate: null,
      acr: null,
      meanTime: null,
      meanSamples: null,
      certifiedAccuracy: [
        { radius: 0, accuracy: null },
        { radius: 0.5, accuracy: null },
      ],
    });
  });

  it('step curve: corners of r -> accuracy, left-continuous', () => {
    assert.deepEqual(certifiedAccuracyCurve(a, 1.5), [
      { radius: 0, accuracy: 0.7 },
      { radius: 0, accuracy: 0.6 },
      { radius: 0.1, accuracy: 0.5 },
      { radius: 0.25, accuracy: 0.3 },
      { radius: 0.5, accuracy: 0.2 },
      { radius: 0.75, accuracy: 0.1 },
      { radius: 1, accuracy: 0 },
      { radius: 1.5, accuracy: 0 },
    ]);
    // cut at a radius: the value there still counts inputs certified at exactly it
    assert.deepEqual(certifiedAccuracyCurve(a, 0.5).slice(-2), [
      { radius: 0.25, accuracy: 0.3 },
      { radius: 0.5, accuracy: 0.3 },
    ]);
    // every corner agrees with certifiedAccuracy just after it
    for (const p of certifiedAccuracyCurve(a, 2).slice(1, -1)) {
      assert.equal(certifiedAccuracy(a, p.radius + 1e-9), p.accuracy);
    }
  });
});

describe('table', () => {
  const radii = [0, 0.25, 0.5, 1];
  const rows = (): SummaryRow[] =>
    loadRuns([fixture('run-a.tsv'), fixture('run-b.tsv'), fixture('predict.tsv')], 'input').runs.map((r) => ({
      label: r.label,
      path: r.log.path,
      kind: r.log.kind,
      summary: summarize(r.outcomes, radii),
    }));
  const options = { radii, space: 'input' as const, spaceDescription: 'input space' };

  it('markdown: one row per run, best values bold, caption with the space', () => {
    const md = summaryTable(rows(), { ...options, format: 'md' });
    const lines = md.trim().split('\n');
    assert.match(
      lines[0],
      /^\| run +\| inputs \| r = 0 \(clean\) \| +r = 0.25 \| +r = 0.5 \| +r = 1 \| +ACR \| abstain \| samples \| s\/input \|$/,
    );
    assert.match(lines[1], /^\| :-+ \| -+: \|/);
    // run-a and run-b tie at r > 0 (no winner: not bold), beat PREDICT at r = 0 and differ in ACR
    assert.match(
      lines[2],
      /^\| Smooth-Mean \(9 patches, correlated\) \| +10 \| +\*\*0\.700\*\* \| +0\.500 \| +0\.300 \| +0\.100 \| +0\.285 \| +0\.200 \| +100000 \| +1\.45 \|$/,
    );
    assert.match(
      lines[3],
      /^\| run-b +\| +10 \| +\*\*0\.700\*\* \| +0\.500 \| +0\.300 \| +0\.100 \| +\*\*0\.295\*\* \| +0\.200 \| +— \| +362 \|$/,
    );
    assert.match(
      lines[4],
      /^\| predict +\| +4 \| +0\.500 \| +— \| +— \| +— \| +— \| +0\.250 \| +100 \| +0\.500 \|$/,
    );
    assert.match(md, /Table: Approximate certified accuracy at L2 radius r \(input space\)/);
    assert.match(md, /PREDICT logs certify no radius/);
  });

  it('a clean column when 0 is not among the radii', () => {
    const md = summaryTable(rows(), { ...options, radii: [0.5], format: 'md' });
    assert.match(md.split('\n')[0], /\| +clean \| +r = 0.5 \|/);
    assert.match(md.split('\n')[4], /\| predict +\| +4 \| +0\.500 \| +— \|/);
  });

  it('latex: booktabs, escaped labels, caption', () => {
    const tex = summaryTable(rows(), { ...options, format: 'latex' });
    for (const s of [
      '\\toprule',
      '\\midrule',
      '\\bottomrule',
      '\\begin{tabular}{lrrrrrrrrr}',
      '\\caption{',
    ]) {
      assert.ok(tex.includes(s), s);
    }
    assert.ok(tex.includes('$r = 0.25$'));
    assert.ok(
      tex.includes(
        'run-b & 10 & \\textbf{0.700} & 0.500 & 0.300 & 0.100 & \\textbf{0.295} & 0.200 & --- & 362 \\\\',
      ),
    );
    assert.ok(tex.includes('predict & 4 & 0.500 & --- &'));
    assert.equal(latexEscape('a_b & 50% {x} #1 $'), 'a\\_b \\& 50\\% \\{x\\} \\#1 \\$');
  });

  it('csv: full precision, quoted labels, the space', () => {
    const csv = summaryTable(rows(), { ...options, format: 'csv' })
      .trim()
      .split('\n');
    assert.equal(csv[0], 'run,inputs,r = 0 (clean),r = 0.25,r = 0.5,r = 1,ACR,abstain,samples,s/input,space');
    assert.equal(
      csv[1],
      '"Smooth-Mean (9 patches, correlated)",10,0.7,0.5,0.3,0.1,0.285,0.2,100000,1.45,input',
    );
    assert.equal(csv[3], 'predict,4,0.5,,,,,0.25,100,0.5,input');
  });

  it('json: numbers and nulls', () => {
    const json = JSON.parse(summaryTable(rows(), { ...options, format: 'json' }));
    assert.equal(json.format, 'smooth-reduce-analysis');
    assert.equal(json.space, 'input');
    assert.equal(json.runs.length, 3);
    assert.equal(json.runs[0].label, 'Smooth-Mean (9 patches, correlated)');
    assert.equal(json.runs[2].certifiedAccuracy[1].accuracy, null);
    close(json.runs[1].meanTime, 361.725, 1e-9);
  });

  it('option parsing', () => {
    assert.equal(parseTableFormat('latex'), 'latex');
    assert.throws(
      () => parseTableFormat('html'),
      /unknown format 'html' \(expected one of md, latex, csv, json\)/,
    );
    assert.deepEqual(parseRadii('0, 0.25,1'), [0, 0.25, 1]);
    for (const bad of ['', '0,,1', '-1', 'a', '0,Infinity'])
      assert.throws(() => parseRadii(bad), UsageError, bad);
    assert.equal(parseSpace('smoothing'), 'smoothing');
    assert.throws(() => parseSpace('resized'), UsageError);
  });
});

describe('compare', () => {
  const a = outcomes(readLog(fixture('run-a.tsv')));
  const b = outcomes(readLog(fixture('run-b.tsv')));

  it('paired counts on the fixtures', () => {
    const cmp = comparePaired(a, b);
    assert.deepEqual(
      { ...cmp, meanRadiusDifference: undefined },
      {
        inputs: 10,
        onlyInA: [],
        onlyInB: [],
        aLarger: 3,
        bLarger: 4,
        equal: 3,
        aAbstainsOnly: 1,
        bAbstainsOnly: 1,
        bothAbstain: 1,
        bothCorrect: 5,
        aCorrectOnly: 2,
        bCorrectOnly: 2,
        neitherCorrect: 1,
        meanRadiusDifference: undefined,
      },
    );
    close(cmp.meanRadiusDifference, -0.01);
    const swapped = comparePaired(b, a);
    assert.equal(swapped.aLarger, 4);
    assert.equal(swapped.aAbstainsOnly, 1);
    close(swapped.meanRadiusDifference, 0.01);
  });

  it('different input sets: error, or the common ones with intersect', () => {
    const fewer = b.filter((o) => o.idx < 5);
    const extra: Outcome = { idx: 99, label: 1, predict: 1, correct: true, radius: 0.3, time: 1 };
    assert.throws(
      () => comparePaired(a, [...fewer, extra], { names: ['A', 'B'] }),
      /the two runs cover different inputs: 5 only in A \(idx 5, 6, 7, 8, 9\), 1 only in B \(idx 99\); use --intersect/,
    );
    const cmp = comparePaired(a, [...fewer, extra], { intersect: true });
    assert.equal(cmp.inputs, 5);
    assert.deepEqual(cmp.onlyInA, [5, 6, 7, 8, 9]);
    assert.deepEqual(cmp.onlyInB, [99]);
    assert.equal((cmp.aLarger ?? 0) + (cmp.bLarger ?? 0) + (cmp.equal ?? 0), 5);
    assert.throws(() => comparePaired(a, [extra], { intersect: true }), /no input \(idx\) in common/);
  });

  it('refuses inputs that are not the same', () => {
    const relabelled = b.map((o) => (o.idx === 3 ? { ...o, label: 9 } : o));
    assert.throws(() => comparePaired(a, relabelled), /idx 3 has label 4 in A but 9 in B/);
    assert.throws(() => comparePaired(a, [...b, b[0]]), /B has idx 0 twice/);
  });

  it('PREDICT logs: no radius comparison', () => {
    const p = outcomes(readLog(fixture('predict.tsv')));
    const cmp = comparePaired(p, p);
    assert.equal(cmp.aLarger, null);
    assert.equal(cmp.meanRadiusDifference, null);
    assert.equal(cmp.bothCorrect, 2);
    assert.equal(cmp.bothAbstain, 1);
  });

  it('tables', () => {
    const cmp = comparePaired(a, b);
    const md = comparisonTable(cmp, { a: 'Smooth-Mean', b: 'RS' }, 'md', 'input space');
    assert.match(md, /\| A certifies a larger radius +\| +3 \| +0\.300 \|/);
    assert.match(md, /\| mean radius difference A - B +\| +-0\.010 \| +— \|/);
    assert.match(md, /A = Smooth-Mean; B = RS\. Certified radius = L2 radius \(input space\)/);
    const json = JSON.parse(comparisonTable(cmp, { a: 'x', b: 'y' }, 'json', 'input space'));
    assert.equal(json.bLarger, 4);
    const csv = comparisonTable(cmp, { a: 'x', b: 'y' }, 'csv', 'input space');
    assert.match(csv, /^measure,value,fraction of inputs\ninputs compared,10,1\n/);
  });
});

// Their published table: `analysis/markdown/vary_noise_cifar10` in locuslab/smoothing (ResNet-110,
// trained and certified at the same sigma, approximate certified accuracy, 2 decimals).
const CIFAR_RADII = [0.25, 0.5, 0.75, 1.0, 1.25, 1.5];
const CIFAR_PUBLISHED: [string, string[]][] = [
  ['noise_0.12/test/sigma_0.12', ['0.59', '0.00', '0.00', '0.00', '0.00', '0.00']],
  ['noise_0.25/test/sigma_0.25', ['0.60', '0.43', '0.27', '0.00', '0.00', '0.00']],
  ['noise_0.50/test/sigma_0.50', ['0.55', '0.41', '0.32', '0.23', '0.15', '0.09']],
  ['noise_1.00/test/sigma_1.00', ['0.39', '0.34', '0.28', '0.22', '0.17', '0.14']],
];
// and `analysis/markdown/vary_noise_imagenet` (ResNet-50)
const IMAGENET_RADII = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0];
const IMAGENET_PUBLISHED: [string, string[]][] = [
  ['noise_0.25/test/sigma_0.25', ['0.49', '0.00', '0.00', '0.00', '0.00', '0.00']],
  ['noise_0.50/test/sigma_0.50', ['0.46', '0.37', '0.29', '0.00', '0.00', '0.00']],
  ['noise_1.00/test/sigma_1.00', ['0.38', '0.33', '0.26', '0.19', '0.15', '0.12']],
];

describe("Cohen et al.'s published numbers", { skip: COHEN_SKIP }, () => {
  it('CIFAR-10 table (vary_noise_cifar10)', () => {
    for (const [rel, published] of CIFAR_PUBLISHED) {
      const log = readLog(cohenLog(`certify/cifar10/resnet110/${rel}`));
      assert.equal(log.rows.length, 500);
      const s = summarize(outcomes(log), CIFAR_RADII);
      assert.deepEqual(
        s.certifiedAccuracy.map((c) => (c.accuracy as number).toFixed(2)),
        published,
        rel,
      );
    }
  });

  it('CIFAR-10 sigma = 0.25: exact counts, clean accuracy, ACR, abstention, time', () => {
    const o = outcomes(readLog(cohenLog('certify/cifar10/resnet110/noise_0.25/test/sigma_0.25')));
    assert.equal(certifiedAccuracy(o, 0.25), 300 / 500);
    assert.equal(certifiedAccuracy(o, 0.5), 214 / 500);
    assert.equal(certifiedAccuracy(o, 0.75), 133 / 500);
    assert.equal(cleanAccuracy(o), 374 / 500);
    assert.equal(abstentionRate(o), 43 / 500);
    close(averageCertifiedRadius(o), 0.428884, 5e-7);
    const t = meanTime(o) as number;
    assert.ok(t > 10 && t < 25, `about 15 s per image on their GPUs, got ${t}`);
  });

  it('ImageNet table (vary_noise_imagenet), H:MM:SS times', () => {
    for (const [rel, published] of IMAGENET_PUBLISHED) {
      const log = readLog(cohenLog(`certify/imagenet/resnet50/${rel}`));
      const s = summarize(outcomes(log), IMAGENET_RADII);
      assert.deepEqual(
        s.certifiedAccuracy.map((c) => (c.accuracy as number).toFixed(2)),
        published,
        rel,
      );
      assert.ok(
        (s.meanTime as number) > 100 && (s.meanTime as number) < 200,
        `~2.5 min per image: ${s.meanTime}`,
      );
    }
  });

  it('PREDICT logs read, and larger n abstains less', () => {
    const rates = ['N_100', 'N_1000', 'N_10000', 'N_100000'].map((n) => {
      const log = readLog(cohenLog(`predict/imagenet/resnet50/noise_0.25/test/${n}`));
      assert.equal(log.kind, 'predict');
      assert.equal(log.rows.length, 500);
      return abstentionRate(outcomes(log)) as number;
    });
    for (let i = 1; i < rates.length; i++) assert.ok(rates[i] <= rates[i - 1], `${rates}`);
  });

  it('compare: same model, certify sigma 0.25 vs 0.50', () => {
    const a = outcomes(readLog(cohenLog('certify/cifar10/resnet110/noise_0.25/test/sigma_0.25')));
    const b = outcomes(readLog(cohenLog('certify/cifar10/resnet110/noise_0.25/test/sigma_0.50')));
    const cmp = comparePaired(a, b);
    assert.equal(cmp.inputs, 500);
    assert.equal((cmp.aLarger ?? 0) + (cmp.bLarger ?? 0) + (cmp.equal ?? 0), 500);
    close(
      cmp.meanRadiusDifference,
      (averageCertifiedRadius(a) as number) - (averageCertifiedRadius(b) as number),
      1e-12,
    );
    // a model trained at 0.25 and certified at 0.5 is far worse (Cohen et al., Fig. 7)
    assert.ok((cmp.aLarger ?? 0) > (cmp.bLarger ?? 0));
  });
});
