import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  clopperPearsonInterval,
  excludesZero,
  holmAdjust,
  mcnemarExact,
  parseAdjustment,
  pairedBootstrap,
  quantile,
} from '../src/analysis/statistics.js';
import { UsageError } from '../src/core/errors.js';
import { summarize, type Outcome } from '../src/analysis/metrics.js';
import { summaryTable } from '../src/analysis/table.js';
import { adjustPairedTests, pairedTests, pairedTestsTable } from '../src/analysis/compare.js';

const near = (actual: number, expected: number, tol: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected}`);

describe('Clopper-Pearson interval', () => {
  // /usr/bin/python3 -c "from statsmodels.stats.proportion import proportion_confint as c;
  //   print([c(k, n, alpha=0.05, method='beta') for k, n in [(374,500),(7,10),(0,10),(10,10),(1,3),(300,500)]])"
  const REFERENCE: [number, number, number, number][] = [
    [374, 500, 0.7075459344674456, 0.7854929332421285],
    [7, 10, 0.3475471499400027, 0.9332604888222655],
    [0, 10, 0, 0.30849710781876083],
    [10, 10, 0.6915028921812392, 1],
    [1, 3, 0.008403758659612636, 0.9057006759497539],
    [300, 500, 0.5555717992429622, 0.6432386279398901],
  ];
  it('matches statsmodels (method="beta") at 95 %', () => {
    for (const [k, n, low, high] of REFERENCE) {
      const ci = clopperPearsonInterval(k, n);
      near(ci.low, low, 1e-10, `${k}/${n} low`);
      near(ci.high, high, 1e-10, `${k}/${n} high`);
      assert.ok(ci.low <= low && ci.high >= high, `${k}/${n}: never narrower than the exact interval`);
    }
  });

  it('other levels', () => {
    // /usr/bin/python3 -c "from statsmodels.stats.proportion import proportion_confint as c;
    //   print(c(374, 500, alpha=0.1, method='beta'))"  -> (0.7140165213519829, 0.7797852958733104)
    const ci = clopperPearsonInterval(374, 500, 0.9);
    near(ci.low, 0.7140165213519829, 1e-10, 'low');
    near(ci.high, 0.7797852958733104, 1e-10, 'high');
    assert.throws(() => clopperPearsonInterval(1, 2, 1), UsageError);
    assert.throws(() => clopperPearsonInterval(3, 2), RangeError);
    assert.throws(() => clopperPearsonInterval(0, 0), RangeError);
  });
});

describe('exact McNemar test', () => {
  it('matches statsmodels mcnemar(exact=True)', () => {
    // /usr/bin/python3 -c "from statsmodels.stats.contingency_tables import mcnemar;
    //   print([mcnemar([[0,b],[c,0]], exact=True).pvalue for b, c in
    //          [(5,0),(10,3),(12,12),(0,0),(30,12),(2,9),(100,70)]])"
    const REFERENCE: [number, number, number][] = [
      [5, 0, 0.0625],
      [10, 3, 0.09228515625],
      [12, 12, 1.0],
      [0, 0, 1.0],
      [30, 12, 0.007915897334896727],
      [2, 9, 0.0654296875],
      [100, 70, 0.02584438758134164],
    ];
    for (const [b, c, p] of REFERENCE) {
      near(mcnemarExact(b, c), p, 1e-12, `${b} vs ${c}`);
      near(mcnemarExact(c, b), p, 1e-12, `${c} vs ${b}`);
    }
  });
});

describe('paired bootstrap', () => {
  /** n paired differences: `effect` plus a spread of +-1 around it, in a fixed pattern (mean exactly `effect`). */
  const differences = (n: number, effect: number) =>
    Float64Array.from({ length: n }, (_, i) => effect + ((i * 37) % 5) - 2);

  it('quantiles as numpy.percentile (linear)', () => {
    // /usr/bin/python3 -c "import numpy as np; print(np.percentile([3,1,4,1,5,9,2,6,5,3,5],[2.5,97.5,50,10]))"
    const x = Float64Array.from([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]).sort();
    assert.deepEqual(
      [0.025, 0.975, 0.5, 0.1].map((p) => quantile(x, p)),
      [1.0, 8.25, 4.0, 1.0],
    );
  });

  it('covers a known difference, excludes 0 when the effect is large, has the normal width', () => {
    const n = 400;
    const d = differences(n, 0.5);
    const [ci] = pairedBootstrap([d], { resamples: 4000, seed: 7 });
    assert.ok(ci.low < 0.5 && ci.high > 0.5, `covers 0.5: [${ci.low}, ${ci.high}]`);
    assert.ok(excludesZero(ci));
    // the spread is 0, +-1, +-2 equally often: sd sqrt(2), so the interval is about +-1.96 sqrt(2 / n)
    const half = 1.96 * Math.sqrt(2 / n);
    near(ci.high - ci.low, 2 * half, 0.1 * 2 * half, 'width');
    near((ci.high + ci.low) / 2, 0.5, 0.2 * half, 'centre');
  });

  it('includes 0 for identical runs and for a small effect', () => {
    const [same] = pairedBootstrap([new Float64Array(50)], { resamples: 500 });
    assert.deepEqual(same, { low: 0, high: 0 });
    assert.ok(!excludesZero(same));
    const [small] = pairedBootstrap([differences(100, 0.05)], { resamples: 2000, seed: 3 });
    assert.ok(small.low < 0 && small.high > 0, `[${small.low}, ${small.high}]`);
  });

  it('seeded: the same seed gives the same intervals, another seed others; columns share the draws', () => {
    const d = differences(60, 0.3);
    const a = pairedBootstrap([d, d.map((x) => 2 * x)], { resamples: 1000, seed: 11 });
    assert.deepEqual(pairedBootstrap([d, d.map((x) => 2 * x)], { resamples: 1000, seed: 11 }), a);
    assert.notDeepEqual(pairedBootstrap([d], { resamples: 1000, seed: 12 })[0], a[0]);
    near(a[1].low, 2 * a[0].low, 1e-12, 'same resamples for both columns');
    assert.throws(() => pairedBootstrap([d], { seed: 0 }), UsageError);
    assert.throws(() => pairedBootstrap([d], { resamples: 0 }), UsageError);
  });
});

describe('analysis table with intervals', () => {
  /** n inputs, the first `correct` of them right with radius 1 */
  const run = (n: number, correct: number): Outcome[] =>
    Array.from({ length: n }, (_, idx) => ({
      idx,
      label: 0,
      predict: idx < correct ? 0 : 1,
      correct: idx < correct,
      radius: idx < correct ? 1 : 0.5,
      time: 1,
    }));
  const table = (runs: [string, Outcome[]][], format: 'md' | 'csv') =>
    summaryTable(
      runs.map(([label, o]) => ({ label, path: label, kind: 'certify', summary: summarize(o, [0], 0.95) })),
      { format, radii: [0], space: 'input', spaceDescription: 'input space', confidence: 0.95 },
    );

  it('bolds a run only when its interval lies above every other run', () => {
    // 90/100 vs 50/100: [.824, .951] vs [.398, .602]; 55/100 overlaps 50/100
    const md = table(
      [
        ['x', run(100, 90)],
        ['y', run(100, 50)],
      ],
      'md',
    );
    assert.match(md, /\| x +\| +100 \| \*\*\.900 \[\.824, \.951\]\*\* \|/);
    assert.match(md, /\| y +\| +100 \| +\.500 \[\.398, \.602\] \|/);
    const close = table(
      [
        ['x', run(100, 55)],
        ['y', run(100, 50)],
      ],
      'md',
    );
    assert.ok(!close.includes('**'), close);
  });

  it('ACR: a bootstrap interval of about the normal width, the same for the same seed', () => {
    // 90 of 100 inputs certified at radius 1: ACR .9, sd .3, so about .9 +- 1.96 * .3 / 10
    const o = run(100, 90);
    const s = summarize(o, [0], 0.95, { resamples: 4000, seed: 2 });
    const ci = s.acrInterval as NonNullable<typeof s.acrInterval>;
    assert.ok(ci.low < 0.9 && ci.high > 0.9, JSON.stringify(ci));
    near(ci.high - ci.low, 2 * 1.96 * 0.03, 0.1 * 2 * 1.96 * 0.03, 'width');
    assert.deepEqual(summarize(o, [0], 0.95, { resamples: 4000, seed: 2 }).acrInterval, ci);
    assert.equal(summarize(o, [0]).acrInterval, undefined, 'only when asked');
  });

  it('CSV: value, low and high columns', () => {
    const csv = table([['x', run(10, 7)]], 'csv').split('\n');
    assert.match(csv[0], /^run,inputs,r = 0 \(clean\),r = 0 \(clean\) low,r = 0 \(clean\) high,ACR,/);
    assert.match(csv[1], /^x,10,0\.7,0\.347547149\d*,0\.933260488\d*,0\.7,/);
  });
});

describe('paired tests of two runs', () => {
  /** input i of a run: correct with the given radius, or abstaining (radius 0) */
  const outcome = (idx: number, radius: number, abstain = false): Outcome => ({
    idx,
    label: 0,
    predict: abstain ? -1 : 0,
    correct: !abstain,
    radius: abstain ? 0 : radius,
    time: 1,
  });
  const n = 300;
  const base = Array.from({ length: n }, (_, i) => 0.2 * ((i * 7) % 5));

  it('a known ACR difference: covered, and 0 excluded', () => {
    // A's radius is B's plus 0.5 plus a spread -0.4 .. 0.4 that averages to 0: the true difference is 0.5
    const b = base.map((r, i) => outcome(i, r));
    const a = base.map((r, i) => outcome(i, r + 0.5 + 0.2 * (((i * 3) % 5) - 2)));
    const t = pairedTests(a, b, [0.5], { resamples: 2000, seed: 5 });
    const acr = t.acr as NonNullable<typeof t.acr>;
    near(acr.difference, 0.5, 1e-12, 'difference');
    assert.ok(acr.interval.low < 0.5 && acr.interval.high > 0.5, JSON.stringify(acr.interval));
    assert.ok(acr.significant);
    const ratio = t.acrRatio as NonNullable<typeof t.acrRatio>;
    const trueRatio =
      a.reduce((x, o) => x + (o.radius as number), 0) / b.reduce((x, o) => x + (o.radius as number), 0);
    near(ratio.ratio, trueRatio, 1e-12, 'ratio');
    assert.ok(ratio.interval.low < trueRatio && ratio.interval.high > trueRatio && ratio.significant);
    // twice the radius on every input: the ratio is 2 in every resample
    const twice = pairedTests(
      base.map((r, i) => outcome(i, 2 * r)),
      b,
      [],
      { resamples: 200 },
    ).acrRatio;
    near(twice?.interval.low as number, 2, 1e-12, 'low');
    near(twice?.interval.high as number, 2, 1e-12, 'high');
    // certified at 0.5: B has the inputs with base radius >= 0.5 (0.6, 0.8), A more
    assert.ok(t.certified[0].mcnemar.aOnly > 50 && t.certified[0].mcnemar.bOnly === 0);
    assert.ok(t.certified[0].mcnemar.pValue < 1e-12 && t.certified[0].significant);
  });

  it('identical runs: every interval is [0, 0], every p is 1, nothing marked', () => {
    const a = base.map((r, i) => outcome(i, r, i % 10 === 0));
    const t = pairedTests(a, a, [0, 0.5], { resamples: 500 });
    for (const d of [t.acr, t.abstention, ...t.certified]) {
      assert.deepEqual(d?.interval, { low: 0, high: 0 });
      assert.equal(d?.significant, false);
    }
    assert.deepEqual(
      [t.abstention, ...t.certified].map((d) => d.mcnemar.pValue),
      [1, 1, 1],
    );
    assert.equal(t.acrRatio?.significant, false);
    assert.ok(!pairedTestsTable(t, { a: 'x', b: 'x' }, 'md', 'input space').includes('**'));
  });

  it('McNemar on the discordant inputs; a small difference is not marked', () => {
    // 30 inputs where only A abstains, 12 where only B does, 258 where neither does
    const a = base.map((r, i) => outcome(i, r, i < 30));
    const b = base.map((r, i) => outcome(i, r, i >= 30 && i < 42));
    const t = pairedTests(a, b, [0], { resamples: 2000 });
    assert.deepEqual([t.abstention.mcnemar.aOnly, t.abstention.mcnemar.bOnly], [30, 12]);
    near(t.abstention.mcnemar.pValue, 0.007915897334896727, 1e-12, 'statsmodels mcnemar([[0,30],[12,0]])');
    near(t.abstention.difference, 18 / n, 1e-12, 'abstention difference');
    assert.ok(t.abstention.significant, JSON.stringify(t.abstention.interval));
    // one input certified by A only (of 300): p = 1, interval includes 0
    const c = base.map((r, i) => outcome(i, r, i === 0));
    const s = pairedTests(
      base.map((r, i) => outcome(i, r)),
      c,
      [0],
      { resamples: 2000 },
    );
    assert.deepEqual(s.certified[0].mcnemar, { aOnly: 1, bOnly: 0, pValue: 1 });
    assert.ok(!s.certified[0].significant, JSON.stringify(s.certified[0].interval));
    const md = pairedTestsTable(t, { a: 'A', b: 'B' }, 'md', 'input space');
    assert.match(
      md,
      /\| abstention rate +\| 0\.100 \| 0\.040 \| +\*\*\+\.060 \[\.\d+, \.\d+\]\*\* \| +30 \| +12 \| \*\*0\.008\*\* \|/,
    );
    assert.match(md, /\| accuracy \(certified at r = 0\) \| 0\.900 \| 0\.960 \|/);
  });
});

describe('Holm correction for multiple comparisons', () => {
  // /usr/bin/python3 -c "from statsmodels.stats.multitest import multipletests as m;
  //   print(m(P, alpha=0.05, method='holm')[1])" for each P below (statsmodels 0.13.5)
  const REFERENCE: [number[], number[]][] = [
    [
      [0.011, 0.041, 0.048, 0.2, 0.5, 0.9],
      [0.066, 0.20500000000000002, 0.20500000000000002, 0.6000000000000001, 1.0, 1.0],
    ],
    [
      [0.01, 0.04, 0.03, 0.005],
      [0.03, 0.06, 0.06, 0.02],
    ],
    [
      [0.001, 0.001, 0.5],
      [0.003, 0.003, 0.5],
    ],
    [[1.0], [1.0]],
    [
      [0.02, 0.02, 0.02],
      [0.06, 0.06, 0.06],
    ],
    [
      [0.3, 0.0004, 0.049, 0.012, 0.7, 0.0125, 0.9, 0.05],
      [0.8999999999999999, 0.0032, 0.245, 0.084, 1.0, 0.084, 1.0, 0.245],
    ],
  ];
  it('matches statsmodels multipletests(method="holm"), in the input order', () => {
    for (const [p, expected] of REFERENCE) {
      const got = holmAdjust(p);
      assert.equal(got.length, expected.length);
      got.forEach((x, i) => near(x, expected[i], 1e-15, `holm(${p.join(', ')})[${i}]`));
    }
    assert.deepEqual(holmAdjust([]), []);
    assert.throws(() => holmAdjust([0.5, 1.2]), RangeError);
    assert.equal(parseAdjustment('holm'), 'holm');
    assert.throws(() => parseAdjustment('bonferroni'), UsageError);
  });

  it("compare --adjust holm: the McNemar p-values adjusted over the comparison's own tests, the family named", () => {
    const outcome = (idx: number, radius: number, abstain = false): Outcome => ({
      idx,
      label: 0,
      predict: abstain ? -1 : 0,
      correct: !abstain,
      radius: abstain ? 0 : radius,
      time: 1,
    });
    const base = Array.from({ length: 300 }, (_, i) => 0.2 * ((i * 7) % 5));
    const a = base.map((r, i) => outcome(i, r, i < 30));
    const b = base.map((r, i) => outcome(i, r, i >= 30 && i < 42));
    const raw = pairedTests(a, b, [0, 0.5], { resamples: 500 });
    const t = adjustPairedTests(raw, 'holm');
    const ps = [raw.abstention.mcnemar.pValue, ...raw.certified.map((c) => c.mcnemar.pValue)];
    assert.deepEqual(
      [t.abstention.mcnemar.adjustedPValue, ...t.certified.map((c) => c.mcnemar.adjustedPValue)],
      holmAdjust(ps),
    );
    // abstention: p = .0079 alone, 3 x .0079 = .024 once adjusted over 3 tests
    near(t.abstention.mcnemar.adjustedPValue!, 3 * 0.007915897334896727, 1e-12, 'Holm p of the smallest');
    assert.deepEqual(t.adjustment, {
      method: 'holm',
      family: 'the 3 McNemar tests of this comparison (abstention; certified at r = 0, 0.5)',
      tests: 3,
    });
    assert.equal(adjustPairedTests(raw, 'none'), raw);
    const md = pairedTestsTable(t, { a: 'A', b: 'B' }, 'md', 'input space');
    assert.match(md, /\| McNemar p \| +Holm p \|/);
    assert.match(md, /\| +30 \| +12 \| +0\.008 \| \*\*0\.024\*\* \|/);
    assert.match(md, /Holm's step-down method over the family of the 3 McNemar tests of this comparison/);
    assert.match(
      pairedTestsTable(raw, { a: 'A', b: 'B' }, 'md', 'input space'),
      /not adjusted for multiple comparisons/,
    );
  });
});
