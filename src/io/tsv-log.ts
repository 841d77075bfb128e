/**
 * The certification log: Cohen et al.'s TSV columns first (`idx label predict radius correct time`,
 * or `idx label predict correct time` for PREDICT), our extra columns after them, one line per
 * input. Every line is written with a single write(2) of the whole line, so a killed process leaves
 * at most a torn last line, which reopening for resume cuts off.
 */
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { UsageError } from '../core/errors.js';

export const CERTIFY_COLUMNS = [
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
export const PREDICT_COLUMNS = ['idx', 'label', 'predict', 'correct', 'time', 'p_value', 'count_A', 'n'];

export class TsvLog {
  private readonly fd: number;
  /** indices already in the log (complete lines), when resuming */
  readonly done: Set<number>;
  /** the fields of those complete lines, in file order */
  readonly rows: string[][];

  /**
   * Opens `path` for appending. An existing log with the same header is resumed (its torn last line,
   * if any, is removed); one with another header is refused.
   */
  constructor(
    readonly path: string,
    readonly columns: string[],
  ) {
    this.done = new Set();
    this.rows = [];
    mkdirSync(dirname(path), { recursive: true });
    const header = columns.join('\t');
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      const complete = text.lastIndexOf('\n') + 1;
      const lines = text
        .slice(0, complete)
        .split('\n')
        .filter((l) => l.length > 0);
      if (lines.length > 0 && lines[0] !== header) {
        throw new UsageError(
          `${path} exists with other columns (${lines[0].split('\t').join(' ')}); choose another --out`,
        );
      }
      for (const line of lines.slice(1)) {
        const fields = line.split('\t');
        this.rows.push(fields);
        this.done.add(Number(fields[0]));
      }
      const fix = openSync(path, 'r+');
      ftruncateSync(fix, lines.length === 0 ? 0 : complete);
      closeSync(fix);
      this.fd = openSync(path, 'a');
      if (lines.length === 0) writeSync(this.fd, header + '\n');
    } else {
      this.fd = openSync(path, 'a');
      writeSync(this.fd, header + '\n');
    }
  }

  /** Appends one line; values are formatted by the caller. */
  append(values: (string | number)[]): void {
    const line = values.join('\t') + '\n';
    writeSync(this.fd, line);
  }

  close(): void {
    closeSync(this.fd);
  }
}
