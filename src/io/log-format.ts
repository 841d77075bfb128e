/**
 * The certification log's text format, the one definition every writer and reader uses (run loop,
 * merge, analysis; later the service and the queue): Cohen et al.'s TSV columns first
 * (`idx label predict radius correct time`, or `idx label predict correct time` for PREDICT), our
 * extra columns after them, one line per input. Columns are found by name, never by position, so
 * Cohen et al.'s own logs read too. No Node imports: this module runs in the browser as well;
 * `./tsv-log.ts` adds the file (append, resume, read).
 */
import { UsageError } from '../core/errors.js';
import { formatDown } from '../core/round.js';

/** The columns of a CERTIFY log, in order. */
export const CERTIFY_COLUMNS: readonly string[] = [
  'idx',
  'label',
  'predict',
  'radius',
  'correct',
  'time',
  'pA_lower',
  'radius_smoothing',
  'count_A',
  'n',
];
/** The columns of a PREDICT log, in order. */
export const PREDICT_COLUMNS: readonly string[] = [
  'idx',
  'label',
  'predict',
  'correct',
  'time',
  'p_value',
  'count_A',
  'n',
];

export type LogKind = 'certify' | 'predict';

export function logColumns(kind: LogKind): readonly string[] {
  return kind === 'certify' ? CERTIFY_COLUMNS : PREDICT_COLUMNS;
}

/** What one CERTIFY line records (radii: input and smoothing space). */
export interface CertifyLine {
  idx: number;
  label: number;
  /** class, or -1 on abstain */
  prediction: number;
  radius: number;
  seconds: number;
  pALower: number;
  radiusSmoothing: number;
  nA: number;
  samples: number;
}

/** What one PREDICT line records. */
export interface PredictLine {
  idx: number;
  label: number;
  /** class, or -1 on abstain */
  prediction: number;
  seconds: number;
  pValue: number;
  nA: number;
  n: number;
}

/** The fields of a CERTIFY line, in CERTIFY_COLUMNS order, as written. */
export function certifyFields(l: CertifyLine): string[] {
  return [
    String(l.idx),
    String(l.label),
    String(l.prediction),
    formatNumber(l.radius),
    l.prediction === l.label ? '1' : '0',
    l.seconds.toFixed(3),
    formatNumber(l.pALower),
    formatNumber(l.radiusSmoothing),
    String(l.nA),
    String(l.samples),
  ];
}

/** The fields of a PREDICT line, in PREDICT_COLUMNS order, as written. */
export function predictFields(l: PredictLine): string[] {
  return [
    String(l.idx),
    String(l.label),
    String(l.prediction),
    l.prediction === l.label ? '1' : '0',
    l.seconds.toFixed(3),
    l.pValue.toPrecision(6),
    String(l.nA),
    String(l.n),
  ];
}

/** One line of the file, newline included. */
export function formatLine(fields: readonly string[]): string {
  return fields.join('\t') + '\n';
}

/**
 * A radius or probability lower bound as the log writes it: 6 significant digits rounded toward
 * zero (never above the value certified), integers as `1.0`.
 */
export function formatNumber(x: number): string {
  return formatDown(x);
}

/** One input's line of a log. */
export interface LogRow {
  idx: number;
  label: number;
  /** predicted class, -1 on abstain */
  predict: number;
  correct: boolean;
  /** the `radius` column (input space); null in PREDICT logs, which certify nothing */
  radius: number | null;
  /** the `radius_smoothing` column when the log has one, else null */
  radiusSmoothing: number | null;
  /** seconds spent on this input (`time` as seconds, or Cohen's `H:MM:SS.ffffff`) */
  time: number;
  /** every column of the line by name, as written (the extra columns live only here) */
  fields: Record<string, string>;
  /** 1-based line number in the file */
  line: number;
}

export interface ParsedLog {
  /** the file, as named in messages */
  path: string;
  kind: LogKind;
  columns: string[];
  rows: LogRow[];
  /** things worth telling the user that do not stop the analysis (e.g. a torn last line) */
  warnings: string[];
  /** the text ends with an incomplete line (a run killed mid-write), which `rows` leaves out */
  torn: boolean;
  /** length of the text up to the end of its last complete line */
  complete: number;
}

export interface ParseOptions {
  /**
   * Called when an idx occurs again (`line`, 1-based) after its first line `first`; throw to
   * refuse the log. Without it, every line is kept.
   */
  onDuplicate?: (idx: number, line: number, first: number) => void;
}

const COMMON_COLUMNS = ['idx', 'label', 'predict', 'correct', 'time'];

/**
 * Parses the text of a log. `source` names the file in messages. A malformed line is a UsageError
 * naming `source:line`; a last line without its newline (a run killed mid-write) is left out and
 * reported in `warnings` and `torn`.
 */
export function parseLog(text: string, source: string, options: ParseOptions = {}): ParsedLog {
  const warnings: string[] = [];
  const lines = text.split('\n');
  // text ending in '\n' splits into a last empty string; anything else there is a torn line
  const last = lines.pop() ?? '';
  const torn = last.length > 0;
  if (last.trim().length > 0) {
    warnings.push(`${source}:${lines.length + 1}: ignored an incomplete last line (no newline at its end)`);
  }
  const at = (i: number) => `${source}:${i + 1}`;
  const headerIndex = lines.findIndex((l) => l.trim().length > 0);
  if (headerIndex < 0) throw new UsageError(`${source}: empty log (no header line)`);
  const columns = stripCr(lines[headerIndex]).split('\t');
  const seen = new Set<string>();
  for (const c of columns) {
    if (c.length === 0 || seen.has(c)) {
      throw new UsageError(
        `${at(headerIndex)}: bad header (${c ? `column '${c}' twice` : 'an empty column name'})`,
      );
    }
    seen.add(c);
  }
  for (const c of COMMON_COLUMNS) {
    if (!seen.has(c)) {
      throw new UsageError(
        `${at(headerIndex)}: not a certification log: no '${c}' column (header: ${columns.join(' ')})`,
      );
    }
  }
  const kind: LogKind = seen.has('radius') ? 'certify' : 'predict';
  const hasSmoothing = seen.has('radius_smoothing');

  const rows: LogRow[] = [];
  const firstLine = new Map<number, number>();
  for (let i = headerIndex + 1; i < lines.length; i++) {
    const line = stripCr(lines[i]);
    if (line.trim().length === 0) continue;
    const values = line.split('\t');
    if (values.length !== columns.length) {
      throw new UsageError(
        `${at(i)}: expected ${columns.length} tab-separated fields (${columns.join(' ')}), found ${values.length}`,
      );
    }
    const fields: Record<string, string> = {};
    columns.forEach((c, j) => (fields[c] = values[j]));
    const int = (name: string, min: number) => {
      const v = Number(fields[name]);
      if (fields[name].trim() === '' || !Number.isInteger(v) || v < min) {
        throw new UsageError(`${at(i)}: bad ${name} '${fields[name]}' (expected an integer >= ${min})`);
      }
      return v;
    };
    const radius = (name: string) => {
      const v = Number(fields[name]);
      if (fields[name].trim() === '' || !Number.isFinite(v) || v < 0) {
        throw new UsageError(`${at(i)}: bad ${name} '${fields[name]}' (expected a number >= 0)`);
      }
      return v;
    };
    const correct = fields.correct.trim();
    if (correct !== '0' && correct !== '1') {
      throw new UsageError(`${at(i)}: bad correct '${fields.correct}' (expected 0 or 1)`);
    }
    const time = parseDuration(fields.time);
    if (time === null) {
      throw new UsageError(`${at(i)}: bad time '${fields.time}' (expected seconds or H:MM:SS.ffffff)`);
    }
    const idx = int('idx', 0);
    const first = firstLine.get(idx);
    if (first === undefined) firstLine.set(idx, i + 1);
    else options.onDuplicate?.(idx, i + 1, first);
    rows.push({
      idx,
      // -1: no label (image files certified without --label)
      label: int('label', -1),
      predict: int('predict', -1),
      correct: correct === '1',
      radius: kind === 'certify' ? radius('radius') : null,
      radiusSmoothing: hasSmoothing ? radius('radius_smoothing') : null,
      time,
      fields,
      line: i + 1,
    });
  }
  return { path: source, kind, columns, rows, warnings, torn, complete: text.length - last.length };
}

/** The fields of a parsed row in the log's column order: the line as written (without a CR). */
export function rowFields(log: Pick<ParsedLog, 'columns'>, row: LogRow): string[] {
  return log.columns.map((c) => row.fields[c]);
}

/**
 * A duration as written in a log: seconds (`15.4`) or Python's `str(timedelta)` as Cohen's
 * ImageNet logs have it (`0:02:31.238689`, `1 day, 2:03:04.5`). Returns seconds, or null.
 */
export function parseDuration(text: string): number | null {
  const t = text.trim();
  if (/^[+]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return Number(t);
  const m = /^(?:(\d+) days?, )?(\d+):(\d{1,2}):(\d{1,2}(?:\.\d*)?)$/.exec(t);
  if (!m) return null;
  const [, days, h, min, s] = m;
  if (Number(min) >= 60 || Number(s) >= 60) return null;
  return (Number(days ?? 0) * 24 + Number(h)) * 3600 + Number(min) * 60 + Number(s);
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
