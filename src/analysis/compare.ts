/**
 * Paired comparison of two runs on the same inputs, joined on `idx`. The radius compared is the
 * certified radius of a correct prediction (radius * correct, as in ACR): a wrong or abstained
 * prediction certifies nothing, so it counts as 0.
 */
import { UsageError } from '../core/errors.js';
import type { Outcome } from './metrics.js';
import {
  DEFAULT_RESAMPLES,
  DEFAULT_SEED,
  checkBootstrapOptions,
  checkConfidence,
  bootstrapMeans,
  excludesZero,
  holmAdjust,
  mcnemarExact,
  percentileInterval,
  type Adjustment,
  type BootstrapOptions,
  type Interval,
} from './statistics.js';
import {
  CAP_NOTE,
  percent,
  renderTable,
  type Cell,
  type Column,
  type Table,
  type TableFormat,
} from './table.js';

export interface PairedComparison {
  /** inputs in both runs (the ones compared) */
  inputs: number;
  /** idx present in only one run (left out; non-empty only with `intersect`) */
  onlyInA: number[];
  onlyInB: number[];
  /** certified radius (radius * correct) larger in A, larger in B, equal; null for PREDICT logs */
  aLarger: number | null;
  bLarger: number | null;
  equal: number | null;
  aAbstainsOnly: number;
  bAbstainsOnly: number;
  bothAbstain: number;
  bothCorrect: number;
  aCorrectOnly: number;
  bCorrectOnly: number;
  neitherCorrect: number;
  /** mean over the compared inputs of A's certified radius minus B's (= ACR(A) - ACR(B) there) */
  meanRadiusDifference: number | null;
}

export interface CompareOptions {
  /** compare the inputs both runs have instead of refusing runs over different inputs */
  intersect?: boolean;
  /** names of the two runs for messages (default "A" and "B") */
  names?: [string, string];
}

/** The inputs of two runs joined on idx, and those in one run only. */
export interface PairedInputs {
  pairs: [Outcome, Outcome][];
  onlyInA: number[];
  onlyInB: number[];
}

/**
 * Joins two runs on idx. UsageErrors: an idx twice in one run, the same idx with two labels, no
 * common input, or (without `intersect`) inputs in one run only.
 */
export function pairInputs(
  a: readonly Outcome[],
  b: readonly Outcome[],
  options: CompareOptions = {},
): PairedInputs {
  const [nameA, nameB] = options.names ?? ['A', 'B'];
  const byIdx = (outcomes: readonly Outcome[], name: string) => {
    const map = new Map<number, Outcome>();
    for (const o of outcomes) {
      if (map.has(o.idx)) throw new UsageError(`${name} has idx ${o.idx} twice: cannot pair inputs`);
      map.set(o.idx, o);
    }
    return map;
  };
  const mapA = byIdx(a, nameA);
  const mapB = byIdx(b, nameB);
  const onlyInA = [...mapA.keys()].filter((i) => !mapB.has(i)).sort((x, y) => x - y);
  const onlyInB = [...mapB.keys()].filter((i) => !mapA.has(i)).sort((x, y) => x - y);
  if ((onlyInA.length > 0 || onlyInB.length > 0) && !options.intersect) {
    const some = (ids: number[]) =>
      ids.length === 0 ? '' : ` (idx ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', ...' : ''})`;
    throw new UsageError(
      `the two runs cover different inputs: ${onlyInA.length} only in ${nameA}${some(onlyInA)}, ` +
        `${onlyInB.length} only in ${nameB}${some(onlyInB)}; use --intersect to compare the common ones`,
    );
  }
  const pairs: [Outcome, Outcome][] = [];
  for (const [idx, oa] of mapA) {
    const ob = mapB.get(idx);
    if (!ob) continue;
    if (oa.label !== ob.label) {
      throw new UsageError(
        `idx ${idx} has label ${oa.label} in ${nameA} but ${ob.label} in ${nameB}: not the same inputs`,
      );
    }
    pairs.push([oa, ob]);
  }
  if (pairs.length === 0) throw new UsageError(`${nameA} and ${nameB} have no input (idx) in common`);
  return { pairs, onlyInA, onlyInB };
}

export function comparePaired(
  a: readonly Outcome[],
  b: readonly Outcome[],
  options: CompareOptions = {},
): PairedComparison {
  const { pairs, onlyInA, onlyInB } = pairInputs(a, b, options);
  const withRadius = pairs.every(([x, y]) => x.radius !== null && y.radius !== null);
  const certified = (o: Outcome) => (o.correct ? (o.radius as number) : 0);
  const count = (f: (x: Outcome, y: Outcome) => boolean) => pairs.filter(([x, y]) => f(x, y)).length;
  const abstains = (o: Outcome) => o.predict === -1;
  return {
    inputs: pairs.length,
    onlyInA,
    onlyInB,
    aLarger: withRadius ? count((x, y) => certified(x) > certified(y)) : null,
    bLarger: withRadius ? count((x, y) => certified(x) < certified(y)) : null,
    equal: withRadius ? count((x, y) => certified(x) === certified(y)) : null,
    aAbstainsOnly: count((x, y) => abstains(x) && !abstains(y)),
    bAbstainsOnly: count((x, y) => !abstains(x) && abstains(y)),
    bothAbstain: count((x, y) => abstains(x) && abstains(y)),
    bothCorrect: count((x, y) => x.correct && y.correct),
    aCorrectOnly: count((x, y) => x.correct && !y.correct),
    bCorrectOnly: count((x, y) => !x.correct && y.correct),
    neitherCorrect: count((x, y) => !x.correct && !y.correct),
    meanRadiusDifference: withRadius
      ? pairs.reduce((s, [x, y]) => s + certified(x) - certified(y), 0) / pairs.length
      : null,
  };
}

/** The comparison as a table of counts (and fractions of the compared inputs). */
export function comparisonTable(
  cmp: PairedComparison,
  labels: { a: string; b: string },
  format: TableFormat,
  spaceDescription: string,
  tests?: PairedTests,
): string {
  if (format === 'json') {
    return (
      JSON.stringify(
        {
          format: 'smooth-reduce-comparison',
          version: 1,
          a: labels.a,
          b: labels.b,
          spaceDescription,
          ...cmp,
          ...(tests ? { tests } : {}),
        },
        null,
        2,
      ) + '\n'
    );
  }
  const n = cmp.inputs;
  const row = (what: string, k: number | null): Cell[] => [what, k, k === null ? null : k / n];
  const rows: Cell[][] = [
    row('inputs compared', n),
    row('A certifies a larger radius', cmp.aLarger),
    row('B certifies a larger radius', cmp.bLarger),
    row('equal certified radius', cmp.equal),
    row('A abstains, B does not', cmp.aAbstainsOnly),
    row('B abstains, A does not', cmp.bAbstainsOnly),
    row('both abstain', cmp.bothAbstain),
    row('both correct', cmp.bothCorrect),
    row('only A correct', cmp.aCorrectOnly),
    row('only B correct', cmp.bCorrectOnly),
    row('neither correct', cmp.neitherCorrect),
    ['mean radius difference A - B', cmp.meanRadiusDifference, null],
  ];
  const left =
    cmp.onlyInA.length + cmp.onlyInB.length > 0
      ? ` Left out: ${cmp.onlyInA.length} inputs only in A, ${cmp.onlyInB.length} only in B.`
      : '';
  const caption =
    `Paired comparison on the same inputs (joined on idx). A = ${labels.a}; B = ${labels.b}. ` +
    `Certified radius = L2 radius (${spaceDescription}) of a correct prediction, 0 when wrong or ` +
    `abstaining; the last row is in the same units.${left}`;
  const counts: Table = {
    columns: [
      { title: 'measure', align: 'left' },
      { title: 'value', digits: 3 },
      { title: 'fraction of inputs', digits: 3 },
    ],
    rows: rows.map((r, i) =>
      // counts are integers; only the mean radius difference needs decimals
      i === rows.length - 1 ? r : [r[0], r[1] === null ? null : String(r[1]), r[2]],
    ),
    caption,
  };
  if (!tests) return renderTable(counts, format);
  const testsTable = pairedTestsTableOf(tests, labels, spaceDescription);
  if (format === 'csv') return renderTable(joinedTable(testsTable, counts), 'csv');
  return `${renderTable(counts, format)}\n${renderTable(testsTable, format)}`;
}

/**
 * Two tables with the same first column (`measure`) as one, for CSV: the first table's rows, then
 * the second's, under the first's columns followed by the second's; a row is empty in the other
 * table's columns.
 */
function joinedTable(first: Table, second: Table): Table {
  const [a, b] = [first.columns.length - 1, second.columns.length - 1];
  const none = (k: number): Cell[] => Array<Cell>(k).fill(null);
  return {
    columns: [...first.columns, ...second.columns.slice(1)],
    rows: [
      ...first.rows.map((r) => [...r, ...none(b)]),
      ...second.rows.map((r) => [r[0], ...none(a), ...r.slice(1)]),
    ],
    caption: `${first.caption} ${second.caption}`,
  };
}

/** A paired difference of means over the compared inputs. */
export interface PairedDifference {
  /** A's mean, B's mean and A's minus B's */
  a: number;
  b: number;
  difference: number;
  /** paired percentile bootstrap interval on the difference */
  interval: Interval;
  /** the interval excludes 0 */
  significant: boolean;
}

/** Exact McNemar test of a yes/no outcome: the discordant inputs and the two-sided p-value. */
export interface McNemarTest {
  /** inputs where only A (only B) has the outcome */
  aOnly: number;
  bOnly: number;
  pValue: number;
  /** the p-value adjusted for multiple comparisons over PairedTests.adjustment's family */
  adjustedPValue?: number;
}

export interface PairedTests {
  inputs: number;
  confidence: number;
  resamples: number;
  seed: number;
  /** ACR (certified radius of a correct prediction, 0 otherwise); null for PREDICT logs */
  acr: PairedDifference | null;
  /**
   * ACR(A) / ACR(B), the paper's measure, with its paired bootstrap interval (the ratio of the
   * resampled means); significant when the interval excludes 1. Null for PREDICT logs or ACR(B) = 0.
   */
  acrRatio: { ratio: number; interval: Interval; significant: boolean } | null;
  /** abstention rate, with McNemar's test on "abstains" */
  abstention: PairedDifference & { mcnemar: McNemarTest };
  /**
   * certified accuracy at each radius (correct, certified radius >= r), with McNemar's test on
   * "certified at r"; for PREDICT logs only r = 0 (accuracy)
   */
  certified: (PairedDifference & {
    radius: number;
    mcnemar: McNemarTest;
    /** the radius lies beyond A's (B's) sample-size cap: that value measures n, never significant */
    beyondCap: { a: boolean; b: boolean };
  })[];
  /** the runs' sample-size caps in the compared radius space (null: unknown) */
  caps: { a: number | null; b: number | null };
  /**
   * the correction for multiple comparisons of the McNemar p-values (absent: none), the family it
   * is over and its size; each test's adjusted value is its `adjustedPValue`
   */
  adjustment?: { method: Exclude<Adjustment, 'none'>; family: string; tests: number };
}

/**
 * The tests with their McNemar p-values adjusted (Holm) over the family of this comparison's own
 * McNemar tests: abstention and certified accuracy at every radius tested. The bootstrap intervals
 * are left per comparison (95 % each, not simultaneous).
 */
export function adjustPairedTests(tests: PairedTests, method: Adjustment): PairedTests {
  if (method === 'none') return tests;
  const all = [tests.abstention.mcnemar, ...tests.certified.map((c) => c.mcnemar)];
  const adjusted = holmAdjust(all.map((t) => t.pValue));
  const withP = (t: McNemarTest, i: number): McNemarTest => ({ ...t, adjustedPValue: adjusted[i] });
  const radii = tests.certified.map((c) => c.radius).join(', ');
  return {
    ...tests,
    abstention: { ...tests.abstention, mcnemar: withP(tests.abstention.mcnemar, 0) },
    certified: tests.certified.map((c, i) => ({ ...c, mcnemar: withP(c.mcnemar, i + 1) })),
    adjustment: {
      method,
      family: `the ${all.length} McNemar tests of this comparison (abstention; certified at r = ${radii})`,
      tests: all.length,
    },
  };
}

/** Whether an outcome is certified at r: correct with radius >= r (at r = 0: correct). */
function certifiedAt(o: Outcome, r: number): boolean {
  return o.correct && (o.radius === null ? r === 0 : o.radius >= r);
}

/**
 * The statistics of a paired comparison: a paired bootstrap interval on each difference (ACR,
 * abstention rate, certified accuracy at each radius: one resampling of the inputs for all) and an
 * exact McNemar test on abstaining and on being certified at each radius.
 */
export function pairedTests(
  a: readonly Outcome[],
  b: readonly Outcome[],
  radii: readonly number[],
  options: CompareOptions & BootstrapOptions & { caps?: [number, number] } = {},
): PairedTests {
  const [capA, capB] = options.caps ?? [Infinity, Infinity];
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const seed = options.seed ?? DEFAULT_SEED;
  const confidence = checkConfidence(options.confidence ?? 0.95);
  checkBootstrapOptions(resamples, seed);
  const { pairs } = pairInputs(a, b, options);
  const n = pairs.length;
  const withRadius = pairs.every(([x, y]) => x.radius !== null && y.radius !== null);
  const certified = (o: Outcome) => (o.correct ? (o.radius as number) : 0);
  const abstains = (o: Outcome) => o.predict === -1;
  const testedRadii = withRadius ? radii : radii.filter((r) => r === 0);

  /** per input: [A's value, B's value] of each measure */
  const measures: ((o: Outcome) => number)[] = [
    ...(withRadius ? [certified] : []),
    (o) => (abstains(o) ? 1 : 0),
    ...testedRadii.map((r) => (o: Outcome) => (certifiedAt(o, r) ? 1 : 0)),
  ];
  const valuesA = measures.map((m) => Float64Array.from(pairs, ([x]) => m(x)));
  const valuesB = measures.map((m) => Float64Array.from(pairs, ([, y]) => m(y)));
  const differences = valuesA.map((va, j) => va.map((v, i) => v - valuesB[j][i]));
  // the certified radii themselves ride along in the same resamples, for the ratio of the ACRs
  const radiusColumns = withRadius ? [valuesA[0], valuesB[0]] : [];
  const replicates = bootstrapMeans([...differences, ...radiusColumns], { resamples, seed });
  const intervals = replicates.slice(0, differences.length).map((m) => percentileInterval(m, confidence));
  const mean = (v: Float64Array) => v.reduce((t, x) => t + x, 0) / n;
  const difference = (j: number): PairedDifference => ({
    a: mean(valuesA[j]),
    b: mean(valuesB[j]),
    difference: mean(differences[j]),
    interval: intervals[j],
    significant: excludesZero(intervals[j]),
  });
  const mcnemar = (yes: (o: Outcome) => boolean): McNemarTest => {
    const aOnly = pairs.filter(([x, y]) => yes(x) && !yes(y)).length;
    const bOnly = pairs.filter(([x, y]) => !yes(x) && yes(y)).length;
    return { aOnly, bOnly, pValue: mcnemarExact(aOnly, bOnly) };
  };
  const first = withRadius ? 1 : 0;
  let acrRatio: PairedTests['acrRatio'] = null;
  if (withRadius && mean(valuesB[0]) > 0) {
    const [acrA, acrB] = replicates.slice(differences.length);
    const ratios = acrA.map((x, r) => x / acrB[r]);
    const interval = percentileInterval(ratios, confidence);
    acrRatio = {
      ratio: mean(valuesA[0]) / mean(valuesB[0]),
      interval,
      significant: interval.low > 1 || interval.high < 1,
    };
  }
  return {
    inputs: n,
    confidence,
    resamples,
    seed,
    acr: withRadius ? difference(0) : null,
    acrRatio,
    abstention: { ...difference(first), mcnemar: mcnemar(abstains) },
    certified: testedRadii.map((radius, i) => {
      const beyondCap = { a: radius > capA, b: radius > capB };
      const d = difference(first + 1 + i);
      return {
        radius,
        ...d,
        // beyond a cap the difference is n's, not the methods': never significant
        significant: d.significant && !beyondCap.a && !beyondCap.b,
        mcnemar: mcnemar((o) => certifiedAt(o, radius)),
        beyondCap,
      };
    }),
    caps: { a: Number.isFinite(capA) ? capA : null, b: Number.isFinite(capB) ? capB : null },
  };
}

/** Below this p-value (and for intervals excluding 0) a difference is marked. */
export const SIGNIFICANCE = 0.05;

/** The paired tests as a table: one row per measure, A, B, A - B with its interval, McNemar. */
export function pairedTestsTable(
  tests: PairedTests,
  labels: { a: string; b: string },
  format: Exclude<TableFormat, 'json'>,
  spaceDescription: string,
  digits = 3,
): string {
  return renderTable(pairedTestsTableOf(tests, labels, spaceDescription, digits), format);
}

/** The paired tests as a table: ACR (and ratio), abstention, certified at each radius. */
function pairedTestsTableOf(
  tests: PairedTests,
  labels: { a: string; b: string },
  spaceDescription: string,
  digits = 3,
): Table {
  const level = percent(tests.confidence);
  const columns: Column[] = [
    { title: 'measure', align: 'left' },
    { title: 'A', digits },
    { title: 'B', digits },
    { title: `A - B [${level}]`, latex: `$A - B$ [${level.replace('%', '\\%')}]`, digits, interval: true },
    { title: 'A only' },
    { title: 'B only' },
    { title: 'McNemar p', digits: 3 },
    ...(tests.adjustment ? [{ title: 'Holm p', digits: 3 }] : []),
  ];
  const adjusted = tests.adjustment !== undefined;
  const diff = (d: PairedDifference): Cell => ({
    value: d.difference,
    low: d.interval.low,
    high: d.interval.high,
    signed: true,
    bold: d.significant,
  });
  const pCell = (value: number, bold: boolean): Cell => ({
    value,
    text: value < 0.001 ? '<.001' : value.toFixed(3),
    bold,
  });
  // with an adjustment the adjusted p-value decides (bold), the raw one is shown beside it; a row
  // beyond a run's sample-size cap is never bold
  const p = (t: McNemarTest, capped = false): Cell[] =>
    adjusted
      ? [pCell(t.pValue, false), pCell(t.adjustedPValue!, t.adjustedPValue! < SIGNIFICANCE && !capped)]
      : [pCell(t.pValue, t.pValue < SIGNIFICANCE && !capped)];
  const none = adjusted ? [null] : [];
  const value = (v: number, beyondCap: boolean): Cell => (beyondCap ? { value: v, beyondCap } : v);
  const rows: Cell[][] = [
    ...(tests.acr ? [[`ACR`, tests.acr.a, tests.acr.b, diff(tests.acr), null, null, null, ...none]] : []),
    ...(tests.acrRatio
      ? [
          [
            'ACR ratio A / B',
            null,
            null,
            {
              value: tests.acrRatio.ratio,
              low: tests.acrRatio.interval.low,
              high: tests.acrRatio.interval.high,
              bold: tests.acrRatio.significant,
            },
            null,
            null,
            null,
            ...none,
          ],
        ]
      : []),
    [
      'abstention rate',
      tests.abstention.a,
      tests.abstention.b,
      diff(tests.abstention),
      tests.abstention.mcnemar.aOnly,
      tests.abstention.mcnemar.bOnly,
      ...p(tests.abstention.mcnemar),
    ],
    ...tests.certified.map((c): Cell[] => {
      const capped = c.beyondCap.a || c.beyondCap.b;
      return [
        c.radius === 0 ? 'accuracy (certified at r = 0)' : `certified at r = ${c.radius}`,
        value(c.a, c.beyondCap.a),
        value(c.b, c.beyondCap.b),
        diff(c),
        c.mcnemar.aOnly,
        c.mcnemar.bOnly,
        ...p(c.mcnemar, capped),
      ];
    }),
  ];
  const anyCapped = tests.certified.some((c) => c.beyondCap.a || c.beyondCap.b);
  const caption =
    `Paired tests on the ${tests.inputs} inputs of both runs. A = ${labels.a}; B = ${labels.b}. ` +
    `Certified at r: correct with a certified L2 radius (${spaceDescription}) of at least r; ACR in the ` +
    `same units. A - B: difference of the means over the inputs, in brackets its ${level} paired ` +
    `percentile bootstrap interval (${tests.resamples} resamples of the inputs with replacement, seed ` +
    `${tests.seed}), bold when it excludes 0 (ACR ratio A / B: the ratio, ` +
    `with the ratio of the resampled means as interval, bold when it excludes 1). A only, B only: inputs where only A (only B) abstains or ` +
    `is certified at r; McNemar p: exact two-sided McNemar test on them (binomial at 1/2), ` +
    (tests.adjustment
      ? `unadjusted; Holm p: adjusted by Holm's step-down method over the family of ${tests.adjustment.family}, ` +
        `bold when below ${SIGNIFICANCE} (family-wise error rate ${SIGNIFICANCE} over those tests; the ` +
        `intervals are per comparison, not simultaneous). `
      : `bold when p < ${SIGNIFICANCE}, not adjusted for multiple comparisons (--adjust holm). `) +
    `With few discordant inputs the bootstrap interval is rough and the exact test is the one to read.` +
    (anyCapped
      ? ` ${CAP_NOTE.replace("the run's", "that run's")} Neither the difference nor the p-value of such a row is bold.`
      : '');
  return { columns, rows, caption };
}
