/**
 * The paper-vs-ours table of docs/results.md (issue 12): for each pair of runs on the same images,
 * the ACR ratio A / B (the paper's measure) with its paired bootstrap interval, in input and in
 * smoothing space, the abstention rates with McNemar's p, certified accuracy at one radius, what
 * the paper reports for the comparison, and a verdict read off the interval. Pairs are joined on
 * idx over the inputs both runs have (a 500-image RS run pairs with 100-image runs on its subset).
 *
 *   node --import tsx scripts/paired-table.ts --radius 0.25 \
 *       --pair 'sigma 0.25: Smooth-Mean / RS|A.tsv|B.tsv|1.2x (vs SmoothAdv)' ... [--note-title paper]
 *
 * The last column asks whether the sample size decides the comparison: with n samples no input can
 * be certified beyond a cap (every sample votes for the class), and in input space Smooth-Reduce's
 * cap is RS's divided by the resize's norm. Both runs' radii clipped at the lower of the two caps
 * (read off the log: the radius of the inputs where count_A = n) give the ratio without that
 * difference.
 *
 * `--adjust holm` adjusts the abstention McNemar p-values (Holm's step-down) over the family of
 * this table's pairs, one test per pair (abstention does not depend on the radius space), and the
 * caption says so; the ACR-ratio intervals stay per comparison (95 % each).
 *
 * Pairs whose logs do not exist (yet) are left out. Markdown on stdout.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type PairedTests, pairedTests } from '../src/analysis/compare.js';
import { type RadiusSpace, runCap } from '../src/analysis/log.js';
import { clipRadii } from '../src/analysis/metrics.js';
import { loadRuns } from '../src/analysis/runs.js';
import { holmAdjust, parseAdjustment } from '../src/analysis/statistics.js';
import { renderTable } from '../src/analysis/table.js';

const { values } = parseArgs({
  options: {
    pair: { type: 'string', multiple: true, default: [] },
    radius: { type: 'string', default: '0.25' },
    resamples: { type: 'string', default: '10000' },
    // the title of the column of each pair's fourth field (what the paper reports, by default)
    'note-title': { type: 'string', default: 'paper' },
    adjust: { type: 'string', default: 'none' },
  },
});
const adjust = parseAdjustment(values.adjust);
const radius = Number(values.radius);
const resamples = Number(values.resamples);

const fmt = (x: number) => x.toFixed(3).replace(/^0\./, '.').replace(/^-0\./, '-.');
const interval = (x: number, lo: number, hi: number) => `${fmt(x)} [${fmt(lo)}, ${fmt(hi)}]`;
const ratio = (t: PairedTests) =>
  t.acrRatio ? interval(t.acrRatio.ratio, t.acrRatio.interval.low, t.acrRatio.interval.high) : '';

function verdict(t: PairedTests): string {
  const r = t.acrRatio;
  if (!r) return 'n/a';
  if (r.interval.low > 1) return 'A higher';
  if (r.interval.high < 1) return 'A lower';
  return 'no significant difference';
}

const rows: string[][] = [];
/** per pair: its abstention McNemar p-value and the rows (one per radius space) that show it */
const abstentionTests: { p: number; rows: number[]; text: string }[] = [];
const pText = (p: number) => (p < 0.001 ? '<.001' : p.toFixed(3));
let pairedInputs = 0;
for (const spec of values.pair) {
  const [label, a, b, paper = ''] = spec.split('|');
  if (!existsSync(a) || !existsSync(b)) continue;
  const inputRuns = loadRuns([a, b], 'input').runs;
  const smoothingRuns = loadRuns([a, b], 'smoothing').runs;
  // noise on the input (RS, --noise input): the two spaces are one, and so are the rows
  const sameSpace = inputRuns.every((r, i) =>
    r.outcomes.every((o, j) => o.radius === smoothingRuns[i].outcomes[j].radius),
  );
  const test = { p: 1, rows: [] as number[], text: '' };
  abstentionTests.push(test);
  for (const space of (sameSpace ? ['input'] : ['input', 'smoothing']) as RadiusSpace[]) {
    const [ra, rb] = space === 'input' ? inputRuns : smoothingRuns;
    const t = pairedTests(ra.outcomes, rb.outcomes, [radius], { intersect: true, names: [a, b], resamples });
    pairedInputs = t.inputs;
    const common = Math.min(runCap(ra.log, ra.outcomes, space), runCap(rb.log, rb.outcomes, space));
    let capped = 'no cap known';
    if (Number.isFinite(common)) {
      const tc = pairedTests(clipRadii(ra.outcomes, common), clipRadii(rb.outcomes, common), [radius], {
        intersect: true,
        names: [a, b],
        resamples,
      });
      capped = tc.acrRatio ? `${ratio(tc)} (at ${fmt(common)})` : '';
    }
    const at = t.certified[0];
    const ab = t.abstention;
    test.p = ab.mcnemar.pValue;
    test.text = `${fmt(ab.a)} / ${fmt(ab.b)} (p ${pText(ab.mcnemar.pValue)}`;
    test.rows.push(rows.length);
    rows.push([
      space === 'input' ? label : '',
      String(t.inputs),
      sameSpace ? 'input = smoothing' : space,
      t.acr ? `${fmt(t.acr.a)} / ${fmt(t.acr.b)}` : '',
      ratio(t),
      `${fmt(at.a)} / ${fmt(at.b)}, ${interval(at.difference, at.interval.low, at.interval.high)}`,
      `${test.text})`,
      space === 'input' ? paper : '',
      verdict(t),
      capped,
    ]);
  }
}
if (rows.length === 0) process.exit(0);
const ABSTAIN_COLUMN = 6;
if (adjust === 'holm') {
  const adjusted = holmAdjust(abstentionTests.map((t) => t.p));
  abstentionTests.forEach((t, i) => {
    for (const r of t.rows) rows[r][ABSTAIN_COLUMN] = `${t.text}, Holm ${pText(adjusted[i])})`;
  });
}
const family =
  adjust === 'holm'
    ? `Holm: the p-value adjusted by Holm's step-down method over the family of this table's ${abstentionTests.length} ` +
      `abstention tests (one per pair; family-wise error rate .05 over them). `
    : 'Not adjusted for multiple comparisons. ';
process.stdout.write(
  renderTable(
    {
      columns: [
        { title: 'comparison (A / B)', align: 'left' },
        { title: 'inputs' },
        { title: 'radius space', align: 'left' },
        { title: 'ACR A / B', align: 'left' },
        { title: 'ACR ratio [95 %]', align: 'left' },
        { title: `certified at r = ${radius}: A / B, A - B [95 %]`, align: 'left' },
        {
          title: adjust === 'holm' ? 'abstain A / B (McNemar p, Holm)' : 'abstain A / B (McNemar p)',
          align: 'left',
        },
        { title: values['note-title'], align: 'left' },
        { title: 'verdict (ACR ratio interval)', align: 'left' },
        { title: 'ACR ratio, both clipped at the lower cap [95 %]', align: 'left' },
      ],
      rows,
      caption:
        `Paired on the inputs both runs have (joined on idx; ${pairedInputs} in the last pair). ACR ratio: ACR(A) / ACR(B) ` +
        `with its 95 % paired percentile bootstrap interval (${resamples} resamples of the inputs, seed 1); ` +
        `A - B: difference of certified accuracy at r = ${radius} (that radius space) with its paired interval; ` +
        'McNemar p: exact two-sided test on the images where only one run abstains. ' +
        family +
        "Verdict: 'A higher' / 'A lower' when the ratio's 95 % interval excludes 1, otherwise 'no significant " +
        "difference'; each interval is per comparison, not simultaneous over the table. " +
        (values['note-title'] === 'paper'
          ? 'Paper: what the spec (section 2) says the paper reports for the comparison. '
          : '') +
        "Last column: the ratio with both runs' radii clipped " +
        'at the lower of their two caps (the radius certified when all n samples vote for the prediction; in ' +
        "input space Smooth-Reduce's is RS's divided by the resize's norm; read off the logs, or, for a run where " +
        "no input was unanimous, computed from its manifest's sigma, n and alpha), i.e. without the part of " +
        'the difference that the sample size n decides.',
    },
    'md',
  ),
);
