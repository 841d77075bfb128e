/**
 * Paired comparison of two runs on the same inputs, joined on `idx`. The radius compared is the
 * certified radius of a correct prediction (radius * correct, as in ACR): a wrong or abstained
 * prediction certifies nothing, so it counts as 0.
 */
import { UsageError } from '../core/errors.js';
import type { Outcome } from './metrics.js';
import { renderTable, type Cell, type TableFormat } from './table.js';

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

export function comparePaired(
  a: readonly Outcome[],
  b: readonly Outcome[],
  options: CompareOptions = {},
): PairedComparison {
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
  return renderTable(
    {
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
    },
    format,
  );
}
