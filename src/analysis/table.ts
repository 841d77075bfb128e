/**
 * Tables of run summaries (one row per run) in Markdown, LaTeX (booktabs), CSV or JSON, and the
 * small table renderer they share with the paired comparison.
 */
import { UsageError } from '../core/errors.js';
import type { RunSummary } from './metrics.js';

export const TABLE_FORMATS = ['md', 'latex', 'csv', 'json'] as const;
export type TableFormat = (typeof TABLE_FORMATS)[number];

export function parseTableFormat(text: string): TableFormat {
  if ((TABLE_FORMATS as readonly string[]).includes(text)) return text as TableFormat;
  throw new UsageError(`unknown format '${text}' (expected one of ${TABLE_FORMATS.join(', ')})`);
}

/** A value in a table cell: a number (formatted with the column's digits), text, or null ("—"). */
export type Cell = number | string | null;

export interface Column {
  /** header as plain text */
  title: string;
  /** header for LaTeX (math allowed); defaults to the escaped title */
  latex?: string;
  /** fixed decimals for numbers in md/latex (csv and json keep full precision) */
  digits?: number;
  align?: 'left' | 'right';
  /** bold the largest (or smallest) value of the column in md/latex when there are several rows */
  best?: 'max' | 'min';
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
  const text = (v: Cell, c: Column) => {
    if (v === null || (typeof v === 'number' && Number.isNaN(v))) return '—';
    if (typeof v === 'number') return c.digits === undefined ? String(v) : v.toFixed(c.digits);
    return v;
  };

  if (format === 'csv') {
    const lines = [columns.map((c) => csvField(c.title)).join(',')];
    // 12 significant digits: full precision without binary noise like 0.28500000000000003
    const value = (v: Cell) =>
      v === null ? '' : typeof v === 'number' ? String(Number(v.toPrecision(12))) : csvField(v);
    for (const r of rows) lines.push(r.map(value).join(','));
    return lines.join('\n') + '\n';
  }

  if (format === 'md') {
    const md = (s: string) => s.replace(/\|/g, '\\|');
    const cells = rows.map((r, i) =>
      r.map((v, j) => {
        const s = md(text(v, columns[j]));
        return bestRow[j].has(i) ? `**${s}**` : s;
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
      const s = typeof v === 'string' ? latexEscape(v) : text(v, columns[j]).replace('—', '---');
      return bestRow[j].has(i) ? `\\textbf{${s}}` : s;
    }),
  );
  const spec = columns.map((c) => (c.align === 'left' ? 'l' : 'r')).join('');
  return (
    [
      '% requires \\usepackage{booktabs}',
      '\\begin{table}[t]',
      '  \\centering',
      `  \\caption{${latexEscape(table.caption)}}`,
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
}

/**
 * The analysis table: one row per run with its inputs, approximate certified accuracy at each
 * radius (plus the clean accuracy when 0 is not among the radii), ACR, abstention rate and time.
 */
export function summaryTable(runs: readonly SummaryRow[], options: SummaryTableOptions): string {
  const { radii, digits = 3 } = options;
  if (options.format === 'json') {
    return (
      JSON.stringify(
        {
          format: 'smooth-reduce-analysis',
          version: 1,
          space: options.space,
          spaceDescription: options.spaceDescription,
          radii,
          runs: runs.map((r) => ({ label: r.label, path: r.path, kind: r.kind, ...r.summary })),
        },
        null,
        2,
      ) + '\n'
    );
  }
  const withClean = !radii.includes(0);
  const withSamples = runs.some((r) => r.summary.meanSamples != null);
  const columns: Column[] = [
    { title: 'run', align: 'left' },
    { title: 'inputs' },
    ...(withClean ? [{ title: 'clean', digits, best: 'max' as const }] : []),
    ...radii.map((r) => ({
      title: r === 0 ? 'r = 0 (clean)' : `r = ${r}`,
      latex: r === 0 ? '$r = 0$ (clean)' : `$r = ${r}$`,
      digits,
      best: 'max' as const,
    })),
    { title: 'ACR', digits, best: 'max' },
    { title: 'abstain', digits },
    ...(withSamples ? [{ title: 'samples' }] : []),
    { title: 's/input' },
  ];
  const rows: Cell[][] = runs.map((r) => [
    r.label,
    r.summary.count,
    ...(withClean ? [r.summary.cleanAccuracy] : []),
    ...radii.map((radius) => r.summary.certifiedAccuracy.find((a) => a.radius === radius)?.accuracy ?? null),
    r.summary.acr,
    r.summary.abstentionRate,
    ...(withSamples ? [r.summary.meanSamples == null ? null : Math.round(r.summary.meanSamples)] : []),
    r.summary.meanTime === null ? null : formatSeconds(r.summary.meanTime),
  ]);
  const predict = runs.some((r) => r.kind === 'predict')
    ? ' PREDICT logs certify no radius: they have only the clean accuracy.'
    : '';
  const caption =
    `Approximate certified accuracy at L2 radius r (${options.spaceDescription}): fraction of the inputs ` +
    `classified correctly with a certified radius of at least r. ACR: average certified radius ` +
    `(${options.spaceDescription}), over all inputs, 0 when wrong or abstaining. abstain: fraction of ` +
    `abstentions.${withSamples ? ' samples: mean estimation samples n per input (fewer than asked when adaptive certification stopped early).' : ''} s/input: mean seconds per input.${predict}`;
  if (options.format === 'csv') {
    // machine-readable: full precision, and the space in its own column
    const csvRows = rows.map((r, i) => [...r.slice(0, -1), runs[i].summary.meanTime, options.space]);
    return renderTable({ columns: [...columns, { title: 'space' }], rows: csvRows, caption }, 'csv');
  }
  return renderTable({ columns, rows, caption }, options.format);
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

export function latexEscape(s: string): string {
  return s.replace(/[\\&%$#_{}~^<>]/g, (c) => LATEX_SPECIALS[c]);
}
