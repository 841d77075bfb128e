/**
 * Tables of run summaries (one row per run) in Markdown, LaTeX (booktabs), CSV or JSON, and the
 * small table renderer they share with the paired comparison.
 */
import { UsageError } from '../core/errors.js';
import type { RunSummary } from './metrics.js';
import { DEFAULT_RESAMPLES, DEFAULT_SEED, clopperPearsonInterval, type Interval } from './statistics.js';

export const TABLE_FORMATS = ['md', 'latex', 'csv', 'json'] as const;
export type TableFormat = (typeof TABLE_FORMATS)[number];

export function parseTableFormat(text: string): TableFormat {
  if ((TABLE_FORMATS as readonly string[]).includes(text)) return text as TableFormat;
  throw new UsageError(`unknown format '${text}' (expected one of ${TABLE_FORMATS.join(', ')})`);
}

/**
 * A value in a table cell: a number (formatted with the column's digits), text, null ("—"), or a
 * number with a confidence interval and/or a mark (bold in md and LaTeX).
 */
export type Cell = number | string | null | MarkedCell;

export interface MarkedCell {
  value: number;
  /** confidence interval, printed after the value as `[low, high]` (numbers without their leading 0) */
  low?: number;
  high?: number;
  /** the interval is there for CSV and for choosing the bold, not to be printed in md and latex */
  hidden?: boolean;
  /** printed instead of the value in md and latex (CSV keeps the value) */
  text?: string;
  /** print the sign of positive numbers too (differences) */
  signed?: boolean;
  bold?: boolean;
  /**
   * at a radius beyond a run's sample-size cap (the largest radius its n allows): marked with a
   * dagger in md and LaTeX, never bold, and no cell of its column is bold either
   */
  beyondCap?: boolean;
}

/** The mark of a value beyond a run's sample-size cap (md; LaTeX: a superscript dagger). */
export const CAP_MARK = '†';

/** The caption's sentence on the mark. */
export const CAP_NOTE =
  `${CAP_MARK}: at a radius beyond the run's sample-size cap, the largest radius its n allows ` +
  '(sigma PhiInv(alpha^(1/n)), divided by the norm in input space): the value measures n (and the norm), ' +
  'not the method, and is never bold; `compare --common-cap` clips both runs at the lower cap.';

const isMarked = (v: Cell): v is MarkedCell => typeof v === 'object' && v !== null;

export interface Column {
  /** header as plain text */
  title: string;
  /** header for LaTeX (math allowed); defaults to the escaped title */
  latex?: string;
  /** fixed decimals for numbers in md/latex (csv and json keep full precision) */
  digits?: number;
  align?: 'left' | 'right';
  /**
   * bold the largest (or smallest) value of the column in md/latex when there are several rows; in
   * a column of intervals, only a value whose interval lies beyond every other row's interval
   */
  best?: 'max' | 'min';
  /** the column holds intervals: CSV gives it three columns (value, low, high) */
  interval?: boolean;
}

export interface Table {
  columns: Column[];
  rows: Cell[][];
  /** one sentence or two: what the numbers are, and in which radius space */
  caption: string;
}

/** Renders a table as md | latex | csv. (JSON is specific to each table; see the callers.) */
export function renderTable(table: Table, format: Exclude<TableFormat, 'json'>): string {
  const { columns, rows } = table;
  const bestRow = columns.map((c, j) => {
    if (!c.best || rows.length < 2) return new Set<number>();
    // a run beyond its cap at this radius: no comparison in the column means anything
    if (rows.some((r) => isMarked(r[j]) && r[j].beyondCap)) return new Set<number>();
    if (c.interval)
      return separatedBest(
        rows.map((r) => r[j]),
        c.best,
      );
    const values = rows
      .map((r) => r[j])
      .filter((v): v is number => typeof v === 'number' && !Number.isNaN(v));
    if (values.length < 2) return new Set<number>();
    const target = c.best === 'max' ? Math.max(...values) : Math.min(...values);
    const shown = (v: number) => (c.digits === undefined ? v : Number(v.toFixed(c.digits)));
    const best = rows.flatMap((r, i) =>
      typeof r[j] === 'number' && shown(r[j]) === shown(target) ? [i] : [],
    );
    // a column where every run is best has no winner to point out
    return new Set(best.length === values.length ? [] : best);
  });
  const text = (v: Cell, c: Column): string => {
    if (v === null || (typeof v === 'number' && Number.isNaN(v))) return '—';
    if (typeof v === 'number') return c.digits === undefined ? String(v) : v.toFixed(c.digits);
    if (isMarked(v)) {
      if (v.low === undefined || v.high === undefined || v.hidden) {
        const s = v.text ?? text(v.value, c);
        return v.signed && v.value >= 0 ? `+${s}` : s;
      }
      const d = c.digits ?? 3;
      return `${short(v.value, d, v.signed)} [${short(v.low, d)}, ${short(v.high, d)}]`;
    }
    return v;
  };
  const bold = (i: number, j: number) => {
    const v = rows[i][j];
    if (isMarked(v) && v.beyondCap) return false;
    return bestRow[j].has(i) || (isMarked(v) && !!v.bold);
  };
  const capped = (v: Cell) => isMarked(v) && !!v.beyondCap;

  if (format === 'csv') {
    const titles = columns.flatMap((c) =>
      c.interval ? [c.title, `${c.title} low`, `${c.title} high`] : [c.title],
    );
    const lines = [titles.map(csvField).join(',')];
    // 12 significant digits: full precision without binary noise like 0.28500000000000003
    const number = (v: number | undefined) => (v === undefined ? '' : String(Number(v.toPrecision(12))));
    const value = (v: Cell, c: Column): string[] => {
      if (isMarked(v))
        return c.interval ? [number(v.value), number(v.low), number(v.high)] : [number(v.value)];
      const s = v === null ? '' : typeof v === 'number' ? number(v) : csvField(v);
      return c.interval ? [s, '', ''] : [s];
    };
    for (const r of rows) lines.push(r.flatMap((v, j) => value(v, columns[j])).join(','));
    return lines.join('\n') + '\n';
  }

  if (format === 'md') {
    const md = (s: string) => s.replace(/\|/g, '\\|');
    const cells = rows.map((r, i) =>
      r.map((v, j) => {
        const s = md(text(v, columns[j])) + (capped(v) ? CAP_MARK : '');
        return bold(i, j) ? `**${s}**` : s;
      }),
    );
    const header = columns.map((c) => md(c.title));
    const width = columns.map((_, j) => Math.max(3, header[j].length, ...cells.map((r) => r[j].length)));
    const pad = (s: string, j: number) =>
      columns[j].align === 'left' ? s.padEnd(width[j]) : s.padStart(width[j]);
    const line = (cs: string[]) => `| ${cs.map(pad).join(' | ')} |`;
    const rule = `| ${columns.map((c, j) => (c.align === 'left' ? ':'.padEnd(width[j], '-') : ':'.padStart(width[j], '-'))).join(' | ')} |`;
    return [line(header), rule, ...cells.map(line), '', `Table: ${table.caption}`].join('\n') + '\n';
  }

  // LaTeX with booktabs
  const cells = rows.map((r, i) =>
    r.map((v, j) => {
      const s =
        (typeof v === 'string' ? latexEscape(v) : latexEscape(text(v, columns[j])).replace('—', '---')) +
        (capped(v) ? '\\textsuperscript{\\dag}' : '');
      return bold(i, j) ? `\\textbf{${s}}` : s;
    }),
  );
  const spec = columns.map((c) => (c.align === 'left' ? 'l' : 'r')).join('');
  return (
    [
      '% requires \\usepackage{booktabs}',
      '\\begin{table}[t]',
      '  \\centering',
      `  \\caption{${latexCaption(table.caption)}}`,
      `  \\begin{tabular}{${spec}}`,
      '    \\toprule',
      `    ${columns.map((c) => c.latex ?? latexEscape(c.title)).join(' & ')} \\\\`,
      '    \\midrule',
      ...cells.map((r) => `    ${r.join(' & ')} \\\\`),
      '    \\bottomrule',
      '  \\end{tabular}',
      '\\end{table}',
    ].join('\n') + '\n'
  );
}

/** One run's row in the analysis table. */
export interface SummaryRow {
  label: string;
  path: string;
  kind: 'certify' | 'predict';
  summary: RunSummary;
  /** the run's sample-size cap in the table's radius space (runCap); Infinity or absent: unknown */
  cap?: number;
}

export interface SummaryTableOptions {
  format: TableFormat;
  radii: readonly number[];
  /** 'input' or 'smoothing', as analysed */
  space: 'input' | 'smoothing';
  /** words for captions, e.g. "input space" */
  spaceDescription: string;
  /** decimals of accuracies, ACR and abstention in md/latex (default 3) */
  digits?: number;
  /**
   * the confidence level of the summaries' Clopper-Pearson intervals (`summarize(..., confidence)`):
   * the table then shows them beside certified accuracy and bolds only separated intervals
   */
  confidence?: number;
  /** resamples and seed of the summaries' ACR bootstrap, for the caption (default 10,000 and 1) */
  bootstrap?: { resamples?: number; seed?: number };
  /** print the intervals in md and latex (default true when there are intervals; CSV and JSON always have them) */
  showIntervals?: boolean;
}

/**
 * The analysis table: one row per run with its inputs, approximate certified accuracy at each
 * radius (plus the clean accuracy when 0 is not among the radii), ACR, abstention rate and time.
 */
export function summaryTable(runs: readonly SummaryRow[], options: SummaryTableOptions): string {
  const { radii, digits = 3, confidence } = options;
  if (options.format === 'json') {
    return (
      JSON.stringify(
        {
          format: 'smooth-reduce-analysis',
          version: 1,
          space: options.space,
          spaceDescription: options.spaceDescription,
          radii,
          ...(confidence === undefined ? {} : { confidence, interval: 'Clopper-Pearson, two-sided' }),
          runs: runs.map((r) => ({
            label: r.label,
            path: r.path,
            kind: r.kind,
            ...r.summary,
            // the sample-size cap (null: unknown); accuracies at larger radii measure n, not the method
            cap: r.cap !== undefined && Number.isFinite(r.cap) ? r.cap : null,
          })),
        },
        null,
        2,
      ) + '\n'
    );
  }
  const withIntervals = confidence !== undefined;
  const show = withIntervals && options.showIntervals !== false;
  const withClean = !radii.includes(0);
  const withSamples = runs.some((r) => r.summary.meanSamples != null);
  const accuracyColumn = { digits, best: 'max' as const, interval: withIntervals };
  const columns: Column[] = [
    { title: 'run', align: 'left' },
    { title: 'inputs' },
    ...(withClean ? [{ title: 'clean', ...accuracyColumn }] : []),
    ...radii.map((r) => ({
      title: r === 0 ? 'r = 0 (clean)' : `r = ${r}`,
      latex: r === 0 ? '$r = 0$ (clean)' : `$r = ${r}$`,
      ...accuracyColumn,
    })),
    { title: 'ACR', digits, best: 'max', interval: withIntervals },
    { title: 'abstain', digits },
    ...(withSamples ? [{ title: 'samples' }] : []),
    { title: 's/input' },
  ];
  const accuracy = (value: number | null, interval: Interval | null | undefined, beyondCap = false): Cell => {
    if (value === null) return value;
    if (!interval) return beyondCap ? { value, beyondCap } : value;
    const cell: MarkedCell = show
      ? { value, ...interval }
      : { value, low: interval.low, high: interval.high, hidden: true };
    return beyondCap ? { ...cell, beyondCap } : cell;
  };
  const clean = (s: RunSummary): Cell =>
    accuracy(
      s.cleanAccuracy,
      confidence === undefined || s.cleanAccuracy === null
        ? null
        : clopperPearsonInterval(Math.round(s.cleanAccuracy * s.count), s.count, confidence),
    );
  const rows: Cell[][] = runs.map((r) => [
    r.label,
    r.summary.count,
    ...(withClean ? [clean(r.summary)] : []),
    ...radii.map((radius) => {
      const c = r.summary.certifiedAccuracy.find((a) => a.radius === radius);
      return c
        ? accuracy(c.accuracy, c.interval, r.kind === 'certify' && radius > (r.cap ?? Infinity))
        : null;
    }),
    accuracy(r.summary.acr, r.summary.acrInterval),
    r.summary.abstentionRate,
    ...(withSamples ? [r.summary.meanSamples == null ? null : Math.round(r.summary.meanSamples)] : []),
    r.summary.meanTime === null ? null : formatSeconds(r.summary.meanTime),
  ]);
  const predict = runs.some((r) => r.kind === 'predict')
    ? ' PREDICT logs certify no radius: they have only the clean accuracy.'
    : '';
  const { resamples = DEFAULT_RESAMPLES, seed = DEFAULT_SEED } = options.bootstrap ?? {};
  const intervals =
    `two-sided ${percent(confidence ?? 0.95)} Clopper-Pearson interval of each certified accuracy ` +
    `(binomial over the run's inputs) and ${percent(confidence ?? 0.95)} percentile bootstrap interval ` +
    `of the ACR (${resamples} resamples of the inputs, seed ${seed})`;
  const intervalNote = !withIntervals
    ? ''
    : (show ? ` In brackets: ${intervals}. Bold` : ` Bold (by the ${intervals})`) +
      ": only where a run's interval lies above every other run's; runs on the same inputs are " +
      'compared better by `compare`, which tests the pair and gives paired intervals on the differences.';
  const anyCapped = runs.some((r) => r.kind === 'certify' && radii.some((x) => x > (r.cap ?? Infinity)));
  const capNote = anyCapped ? ` ${CAP_NOTE}` : '';
  const caption =
    `Approximate certified accuracy at L2 radius r (${options.spaceDescription}): fraction of the inputs ` +
    `classified correctly with a certified radius of at least r. ACR: average certified radius ` +
    `(${options.spaceDescription}), over all inputs, 0 when wrong or abstaining. abstain: fraction of ` +
    `abstentions.${intervalNote}${withSamples ? ' samples: mean estimation samples n per input (fewer than asked when adaptive certification stopped early).' : ''} s/input: mean seconds per input.${predict}${capNote}`;
  if (options.format === 'csv') {
    // machine-readable: full precision, and the space in its own column
    const csvRows = rows.map((r, i) => [...r.slice(0, -1), runs[i].summary.meanTime, options.space]);
    return renderTable({ columns: [...columns, { title: 'space' }], rows: csvRows, caption }, 'csv');
  }
  return renderTable({ columns, rows, caption }, options.format);
}

/**
 * The rows (a set of one) whose interval lies entirely above (for 'max'; below for 'min') every
 * other row's: a difference that does not hang on which inputs were drawn. Empty when there is none.
 */
function separatedBest(cells: readonly Cell[], best: 'max' | 'min'): Set<number> {
  const withInterval = cells.flatMap((v, i) =>
    isMarked(v) && v.low !== undefined && v.high !== undefined ? [{ i, low: v.low, high: v.high }] : [],
  );
  if (withInterval.length < 2) return new Set();
  const winner = withInterval.find((a) =>
    withInterval.every((b) => b === a || (best === 'max' ? a.low > b.high : a.high < b.low)),
  );
  return new Set(winner ? [winner.i] : []);
}

/** A number with `digits` decimals and no leading zero (.748, -.012; +.012 when `signed`; never -.000). */
export function short(v: number, digits: number, signed = false): string {
  const s = v.toFixed(digits).replace(/^(-?)0\./, '$1.');
  if (Number(s) === 0) return s.replace('-', '');
  return signed && !s.startsWith('-') ? `+${s}` : s;
}

/** 0.95 -> "95 %" */
export function percent(level: number): string {
  return `${Number((level * 100).toPrecision(6))} %`;
}

/** Seconds with three significant digits, without exponents: 0.160, 16.9, 153. */
export function formatSeconds(s: number): string {
  return s >= 100 ? s.toFixed(0) : s.toPrecision(3);
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const LATEX_SPECIALS: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '&': '\\&',
  '%': '\\%',
  $: '\\$',
  '#': '\\#',
  _: '\\_',
  '{': '\\{',
  '}': '\\}',
  '~': '\\textasciitilde{}',
  '^': '\\textasciicircum{}',
  '<': '\\textless{}',
  '>': '\\textgreater{}',
};

/** A caption for LaTeX: escaped, Markdown `code` as \texttt, the cap mark as \dag. */
export function latexCaption(s: string): string {
  return latexEscape(s)
    .replace(/`([^`]*)`/g, '\\texttt{$1}')
    .replaceAll(CAP_MARK, '\\dag{}');
}

export function latexEscape(s: string): string {
  return s.replace(/[\\&%$#_{}~^<>]/g, (c) => LATEX_SPECIALS[c]);
}
