import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Command } from 'commander';
import { register as registerAnalyze } from '../src/cli/analyze.js';
import { register as registerCompare } from '../src/cli/compare.js';
import { register as registerPlot } from '../src/cli/plot.js';
import { findPlotFont } from '../src/analysis/plot/font.js';
import { UsageError } from '../src/core/errors.js';
import { COHEN_SKIP, cohenLog, fixture } from './fixtures/analysis/paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'sr-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const close = (actual: number, expected: number) =>
  assert.ok(Math.abs(actual - expected) <= 1e-12, `${actual} != ${expected}`);

/** Runs `smooth-reduce <args>` in-process with the three commands; returns what went to stdout/stderr. */
async function run(...args: string[]): Promise<{ out: string; err: string }> {
  let out = '';
  let err = '';
  const streams = {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
  };
  const program = new Command('smooth-reduce').exitOverride();
  registerAnalyze(program, streams);
  registerPlot(program, streams);
  registerCompare(program, streams);
  await program.parseAsync(['node', 'smooth-reduce', ...args]);
  return { out, err };
}

describe('cli: analyze', () => {
  it('prints the markdown table', async () => {
    const { out } = await run('analyze', fixture('run-a.tsv'), fixture('run-b.tsv'));
    const lines = out.split('\n');
    assert.match(
      lines[0],
      /^\| run +\| inputs \| +r = 0 \(clean\) \| +r = 0.25 \| +r = 0.5 \| +r = 0.75 \| +r = 1 \| +ACR \|/,
    );
    // 7 of 10 correct: scipy.stats.beta.ppf(0.025, 7, 4) = 0.3475, beta.ppf(0.975, 8, 3) = 0.9333
    assert.match(lines[2], /^\| Smooth-Mean \(9 patches, correlated\) \| +10 \| \.700 \[\.348, \.933\] \|/);
    // at r = 0.75 run-a has 2 of 10, run-b 1 of 10: overlapping intervals, so nothing is bold
    assert.match(lines[3], /^\| run-b +\| +10 \| \.700 \[\.348, \.933\] \| .* \| \.100 \[\.003, \.445\] \|/);
    assert.ok(!out.includes('**'), 'no bold without separated intervals');
    assert.match(out, /Table: .*\(input space\)/);
    assert.match(out, /two-sided 95 % Clopper-Pearson interval/);
  });

  it('--confidence, --no-intervals', async () => {
    const json = JSON.parse(
      (await run('analyze', fixture('run-a.tsv'), '--radii', '0', '--confidence', '0.9', '--format', 'json'))
        .out,
    );
    assert.equal(json.confidence, 0.9);
    const [c] = json.runs[0].certifiedAccuracy;
    // /usr/bin/python3 -c "from scipy.stats import beta; print(beta.ppf(0.05,7,4), beta.ppf(0.95,8,3))"
    assert.ok(Math.abs(c.interval.low - 0.39337578389458766) < 1e-9, String(c.interval.low));
    assert.ok(Math.abs(c.interval.high - 0.9127355660858496) < 1e-9, String(c.interval.high));
    assert.ok(json.runs[0].acrInterval.low < 0.285 && json.runs[0].acrInterval.high > 0.285);
    const md = (await run('analyze', fixture('run-a.tsv'), '--no-intervals')).out;
    assert.match(md.split('\n')[2], /\| +10 \| +0\.700 \| +0\.500 \|/);
    assert.ok(!md.includes('['));
  });

  it('--radii, --format, --space, --label', async () => {
    const json = JSON.parse(
      (
        await run(
          'analyze',
          fixture('run-a.tsv'),
          '--radii',
          '0.8',
          '--format',
          'json',
          '--space',
          'smoothing',
        )
      ).out,
    );
    assert.equal(json.space, 'smoothing');
    assert.equal(json.spaceDescription, 'smoothing space: resized image 36x36');
    // 2 of 10 certified at 0.8 in smoothing space:
    // /usr/bin/python3 -c "from scipy.stats import beta; print(beta.ppf(0.025,2,9), beta.ppf(0.975,3,8))"
    // 0.02521072632683336 0.5560954623076415
    const [c] = json.runs[0].certifiedAccuracy;
    assert.deepEqual([c.radius, c.accuracy], [0.8, 0.2]);
    assert.ok(Math.abs(c.interval.low - 0.02521072632683336) < 1e-9, String(c.interval.low));
    assert.ok(Math.abs(c.interval.high - 0.5560954623076415) < 1e-9, String(c.interval.high));
    const csv = (await run('analyze', fixture('run-a.tsv'), '--format', 'csv', '--label', 'mine')).out;
    assert.match(csv.split('\n')[1], /^mine,10,0.7,/);
    const tex = (await run('analyze', fixture('run-a.tsv'), '--format', 'latex')).out;
    assert.match(tex, /\\toprule/);
  });

  it('--common: only the inputs every log has', async () => {
    const header = 'idx\tlabel\tpredict\tradius\tcorrect\ttime\n';
    const wide = join(tmp, 'wide.tsv');
    const narrow = join(tmp, 'narrow.tsv');
    // wide: 4 inputs, 0 and 2 certified; narrow: inputs 2 and 3, both certified
    writeFileSync(
      wide,
      `${header}0\t1\t1\t0.5\t1\t1\n1\t1\t-1\t0\t0\t1\n2\t3\t3\t0.5\t1\t1\n3\t2\t4\t0.5\t0\t1\n`,
    );
    writeFileSync(narrow, `${header}2\t3\t3\t0.5\t1\t1\n3\t2\t2\t0.5\t1\t1\n`);
    const all = await run('analyze', wide, narrow, '--radii', '0', '--no-intervals');
    assert.match(all.out, /\| wide +\| +4 \| +0\.500 \|/);
    const common = await run('analyze', wide, narrow, '--radii', '0', '--no-intervals', '--common');
    assert.match(common.out, /\| wide +\| +2 \| +0\.500 \|/);
    assert.match(common.out, /\| narrow +\| +2 \| +1\.000 \|/);
    const none = join(tmp, 'none.tsv');
    writeFileSync(none, `${header}7\t1\t1\t0.5\t1\t1\n`);
    await assert.rejects(run('analyze', wide, none, '--common'), /no input \(idx\) in common/);
  });

  it('reports a torn last line on stderr and goes on', async () => {
    const path = join(tmp, 'torn.tsv');
    writeFileSync(path, 'idx\tlabel\tpredict\tradius\tcorrect\ttime\n0\t1\t1\t0.5\t1\t1.0\n1\t2\t2\t0.');
    const { out, err } = await run('analyze', path);
    assert.match(err, /^warning: .*torn\.tsv:3: ignored an incomplete last line/);
    assert.match(out, /\| torn +\| +1 \|/);
  });

  it('errors are UsageErrors with one line', async () => {
    const cases: [string[], RegExp][] = [
      [['analyze', join(tmp, 'missing.tsv')], /^no such log: .*missing\.tsv$/],
      [['analyze', fixture('run-a.tsv'), '--format', 'html'], /^unknown format 'html'/],
      [
        ['analyze', fixture('run-b.tsv'), '--space', 'smoothing'],
        /run-b\.tsv has no radius_smoothing column/,
      ],
      [['analyze', fixture('run-a.tsv'), '--radii', '0,x'], /^bad --radii '0,x'/],
      [['analyze', fixture('run-a.tsv'), '--space', 'resized'], /^unknown radius space 'resized'/],
      [['analyze', fixture('run-a.tsv'), '--digits', '-1'], /^bad --digits/],
      [['analyze', fixture('run-a.tsv'), '--confidence', '95'], /^bad --confidence '95'/],
      [['analyze', fixture('run-a.tsv'), '--resamples', '0'], /^bad --resamples '0'/],
      [['analyze', fixture('run-a.tsv'), '--label', 'a', '--label', 'b'], /^2 labels given for 1 logs$/],
      [['plot', fixture('run-a.tsv'), '--out', join(tmp, 'x.pdf')], /name it \.svg or \.png/],
      [['plot', fixture('predict.tsv'), '--out', join(tmp, 'x.svg')], /PREDICT log has no radii/],
      [
        ['plot', fixture('run-a.tsv'), '--out', join(tmp, 'x.svg'), '--max-radius', '0'],
        /^bad --max-radius '0'/,
      ],
      [
        ['plot', fixture('run-a.tsv'), '--out', join(tmp, 'x.svg'), '--legend', 'up'],
        /^unknown legend position 'up'/,
      ],
      [['compare', fixture('run-a.tsv'), fixture('predict.tsv')], /cover different inputs/],
      [['compare', fixture('run-a.tsv'), fixture('run-b.tsv'), '--format', 'xml'], /^unknown format 'xml'/],
      [['compare', fixture('run-a.tsv'), fixture('run-b.tsv'), '--seed', '0'], /^bad --seed '0'/],
      [
        ['compare', fixture('run-a.tsv'), fixture('run-b.tsv'), '--resamples', '1.5'],
        /^bad --resamples '1\.5'/,
      ],
      [['compare', fixture('run-a.tsv'), fixture('run-b.tsv'), '--confidence', '0'], /^bad --confidence '0'/],
    ];
    for (const [args, message] of cases) {
      await assert.rejects(
        run(...args),
        (e: unknown) => e instanceof UsageError && message.test(e.message) && !e.message.includes('\n'),
        args.join(' '),
      );
    }
  });
});

describe('cli: plot', () => {
  it('writes an SVG', async () => {
    const out = join(tmp, 'fig.svg');
    const { err } = await run(
      'plot',
      fixture('run-a.tsv'),
      fixture('run-b.tsv'),
      '--out',
      out,
      '--title',
      'Fixtures',
    );
    assert.match(err, /wrote .*fig\.svg \(svg, 560 x 360\)/);
    const svg = readFileSync(out, 'utf8');
    assert.ok(svg.includes('>Smooth-Mean (9 patches, correlated)</text>'));
    assert.ok(svg.includes('>run-b</text>'));
    assert.ok(svg.includes('>Fixtures</text>'));
  });

  it('--bands, --confidence', async () => {
    const out = join(tmp, 'bands.svg');
    await run('plot', fixture('run-a.tsv'), '--out', out, '--bands', '--confidence', '0.9');
    assert.match(readFileSync(out, 'utf8'), /aria-roledescription="area mark"/);
    await assert.rejects(
      run('plot', fixture('run-a.tsv'), '--out', out, '--bands', '--confidence', '2'),
      /^UsageError: bad --confidence '2'/,
    );
  });

  const noFont = findPlotFont() ? false : 'no TrueType font on this machine to draw PNG text with';
  it('writes a PNG, in smoothing space', { skip: noFont }, async () => {
    const out = join(tmp, 'fig.png');
    await run(
      'plot',
      fixture('run-a.tsv'),
      '--out',
      out,
      '--space',
      'smoothing',
      '--width',
      '300',
      '--height',
      '200',
    );
    assert.ok(existsSync(out));
    assert.deepEqual([...readFileSync(out).subarray(1, 4)], [...Buffer.from('PNG')]);
  });

  it("Cohen et al.'s ImageNet logs", { skip: COHEN_SKIP }, async () => {
    const out = join(tmp, 'imagenet.svg');
    const logs = ['0.25', '0.50', '1.00'].map((s) =>
      cohenLog(`certify/imagenet/resnet50/noise_${s}/test/sigma_${s}`),
    );
    await run('plot', ...logs, '--out', out, '--max-radius', '4');
    const svg = readFileSync(out, 'utf8');
    for (const s of ['0.25', '0.50', '1.00'])
      assert.ok(svg.includes(`>noise_${s}/test/sigma_${s}</text>`), s);
  });
});

describe('cli: compare', () => {
  it('paired tests: bootstrap intervals and McNemar, seeded', async () => {
    const args = ['compare', fixture('run-a.tsv'), fixture('run-b.tsv'), '--radii', '0,0.75'];
    const { out } = await run(...args, '--resamples', '2000', '--seed', '3');
    // ACR 0.285 vs 0.295; abstentions and correct predictions: 1 and 2 discordant each way
    assert.match(out, /\| ACR +\| 0\.285 \| 0\.295 \| +-\.010 \[-\.\d{3}, \.\d{3}\] \| +— \| +— \| +— \|/);
    assert.match(
      out,
      /\| abstention rate +\| 0\.200 \| 0\.200 \| +\.000 \[-\.\d{3}, \.\d{3}\] \| +1 \| +1 \| +1\.000 \|/,
    );
    assert.match(
      out,
      /\| certified at r = 0\.75 +\| 0\.200 \| 0\.100 \| +\+\.100 \[\.000, \.\d{3}\] \| +1 \| +0 \| +1\.000 \|/,
    );
    assert.ok(!out.includes('**'), 'nothing is significant on 10 inputs');
    assert.match(out, /paired percentile bootstrap interval \(2000 resamples .*seed 3\)/);
    assert.equal((await run(...args, '--resamples', '2000', '--seed', '3')).out, out);
    const json = JSON.parse((await run(...args, '--format', 'json')).out);
    assert.equal(json.tests.resamples, 10000);
    assert.deepEqual(
      json.tests.certified.map((c: { radius: number; mcnemar: object }) => [c.radius, c.mcnemar]),
      [
        [0, { aOnly: 2, bOnly: 2, pValue: 1 }],
        [0.75, { aOnly: 1, bOnly: 0, pValue: 1 }],
      ],
    );
    // one CSV table: the tests' rows, then the counts' rows, each empty in the other's columns
    const csv = (await run(...args, '--format', 'csv')).out;
    const lines = csv.trimEnd().split('\n');
    assert.equal(
      lines[0],
      'measure,A,B,A - B [95 %],A - B [95 %] low,A - B [95 %] high,A only,B only,McNemar p,value,fraction of inputs',
    );
    assert.equal(lines.filter((l) => l.startsWith('measure,')).length, 1, 'one header');
    assert.ok(lines.includes('A certifies a larger radius,,,,,,,,,3,0.3'), csv);
    assert.match(lines[1], /^ACR,0\.285,0\.295,-0\.01,/);
  });

  it('prints the paired table', async () => {
    const { out } = await run('compare', fixture('run-a.tsv'), fixture('run-b.tsv'));
    assert.match(out, /\| inputs compared +\| +10 \| +1\.000 \|/);
    assert.match(out, /\| A certifies a larger radius +\| +3 \| +0\.300 \|/);
    assert.match(out, /\| B certifies a larger radius +\| +4 \| +0\.400 \|/);
    assert.match(out, /A = Smooth-Mean \(9 patches, correlated\); B = run-b\./);
  });

  it('--adjust holm: Holm p-values over the named family, in the table and the JSON', async () => {
    const { out } = await run('compare', fixture('run-a.tsv'), fixture('run-b.tsv'), '--adjust', 'holm');
    assert.match(out, /\| McNemar p \| +Holm p \|/);
    assert.match(
      out,
      /over the family of the \d+ McNemar tests of this comparison \(abstention; certified at r = /,
    );
    const json = JSON.parse(
      (
        await run(
          'compare',
          fixture('run-a.tsv'),
          fixture('run-b.tsv'),
          '--adjust',
          'holm',
          '--format',
          'json',
        )
      ).out,
    );
    const tests = [json.tests.abstention, ...json.tests.certified];
    assert.equal(json.tests.adjustment.tests, tests.length);
    for (const t of tests) assert.ok(t.mcnemar.adjustedPValue >= t.mcnemar.pValue);
    await assert.rejects(
      run('compare', fixture('run-a.tsv'), fixture('run-b.tsv'), '--adjust', 'sidak'),
      /bad --adjust sidak/,
    );
  });

  it('--format json, --label', async () => {
    const { out } = await run(
      'compare',
      fixture('run-b.tsv'),
      fixture('run-a.tsv'),
      '--format',
      'json',
      '--label',
      'RS',
    );
    const json = JSON.parse(out);
    assert.equal(json.a, 'RS');
    assert.equal(json.aLarger, 4);
    assert.equal(json.bAbstainsOnly, 1);
  });

  it('--common-cap: both runs clipped at the lower sample-size cap', async () => {
    const header = 'idx\tlabel\tpredict\tradius\tcorrect\ttime\tpA_lower\tradius_smoothing\tcount_A\tn\n';
    const line = (idx: number, radius: number, count: number, n: number) =>
      `${idx}\t1\t1\t${radius}\t1\t1\t0.9\t${radius}\t${count}\t${n}\n`;
    // A reaches its cap 0.8 on input 0; B's cap (fewer samples) is 0.6
    const a = join(tmp, 'cap-a.tsv');
    const b = join(tmp, 'cap-b.tsv');
    writeFileSync(a, header + line(0, 0.8, 1000, 1000) + line(1, 0.3, 990, 1000));
    writeFileSync(b, header + line(0, 0.6, 100, 100) + line(1, 0.4, 99, 100));
    const plain = JSON.parse((await run('compare', a, b, '--format', 'json')).out);
    close(plain.meanRadiusDifference, (0.2 - 0.1) / 2);
    const { out } = await run('compare', a, b, '--format', 'json', '--common-cap');
    const json = JSON.parse(out);
    close(json.meanRadiusDifference, (0 - 0.1) / 2);
    assert.match(json.spaceDescription, /radii clipped at the lower sample-size cap, 0\.6000/);
    await assert.rejects(
      run('compare', fixture('run-a.tsv'), fixture('run-b.tsv'), '--common-cap'),
      (e: unknown) => e instanceof UsageError && /^--common-cap: neither log/.test(e.message),
    );
  });

  it('--intersect', async () => {
    const { out } = await run(
      'compare',
      fixture('run-a.tsv'),
      fixture('predict.tsv'),
      '--intersect',
      '--format',
      'json',
    );
    const json = JSON.parse(out);
    assert.equal(json.inputs, 1);
    assert.equal(json.aLarger, null);
    assert.equal(json.onlyInB.length, 3);
  });
});
