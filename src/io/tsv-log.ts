/**
 * The certification log on disk: the one module that writes, resumes and reads log files (the
 * text format itself is `./log-format.ts`, re-exported here). Every line is written with a single
 * write(2) of the whole line, so a killed process leaves at most a torn last line, which reopening
 * for resume cuts off.
 */
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { UsageError } from '../core/errors.js';
import { type LogRow, type ParseOptions, type ParsedLog, formatLine, parseLog } from './log-format.js';

export * from './log-format.js';

export class TsvLog {
  private readonly fd: number;
  /** indices already in the log (complete lines), when resuming */
  readonly done: Set<number>;
  /** those complete lines, in file order */
  readonly rows: LogRow[];

  /**
   * Opens `path` for appending. An existing log with the same header is resumed (its torn last line,
   * if any, is removed); one with another header is refused.
   */
  constructor(
    readonly path: string,
    readonly columns: readonly string[],
    options: ParseOptions = {},
  ) {
    mkdirSync(dirname(path), { recursive: true });
    const header = columns.join('\t');
    let previous: ParsedLog | null = null;
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      const first = text.slice(0, text.indexOf('\n') + 1).replace(/\n$/, '');
      if (first.length > 0 && first !== header) {
        throw new UsageError(
          `${path} exists with other columns (${first.split('\t').join(' ')}); choose another --out`,
        );
      }
      if (first.length > 0) previous = parseLog(text, path, options);
      const fix = openSync(path, 'r+');
      ftruncateSync(fix, previous ? Buffer.byteLength(text.slice(0, previous.complete)) : 0);
      closeSync(fix);
    }
    this.rows = previous?.rows ?? [];
    this.done = new Set(this.rows.map((r) => r.idx));
    this.fd = openSync(path, 'a');
    if (!previous) writeSync(this.fd, formatLine(columns));
  }

  /** Appends one line: its fields in column order (see certifyFields / predictFields). */
  append(fields: readonly string[]): void {
    writeSync(this.fd, formatLine(fields));
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * Reads and parses the log at `path` (see parseLog). A missing or unreadable file is a
 * UsageError.
 */
export function readLogFile(path: string, options: ParseOptions = {}): ParsedLog {
  if (!existsSync(path)) throw new UsageError(`no such log: ${path}`);
  if (statSync(path).isDirectory()) throw new UsageError(`${path} is a directory, not a log`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as Error).message}`);
  }
  return parseLog(text, path, options);
}
