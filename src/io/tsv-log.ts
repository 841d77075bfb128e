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
import { lockLog } from './log-lock.js';

export * from './log-format.js';

export class TsvLog {
  private readonly fd: number;
  private readonly unlock: () => void;
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
    const header = columns.join('\t');
    let previous: ParsedLog | null = null;
    this.unlock = writing(path, () => {
      mkdirSync(dirname(path), { recursive: true });
      return lockLog(path);
    });
    try {
      if (existsSync(path)) {
        const text = readFileSync(path, 'utf8');
        const first = text.slice(0, text.indexOf('\n') + 1).replace(/\n$/, '');
        // anything but this header (or the start of it, torn) is another file: never overwrite it
        if (first.length > 0 ? first !== header : !header.startsWith(text)) {
          const what = text.includes('\0')
            ? 'a binary file'
            : `other columns (${first.split('\t').join(' ')})`;
          throw new UsageError(`${path} exists with ${what}; it is not this run's log: choose another --out`);
        }
        if (first.length > 0) previous = parseLog(text, path, options);
        writing(path, () => {
          const fix = openSync(path, 'r+');
          ftruncateSync(fix, previous ? Buffer.byteLength(text.slice(0, previous.complete)) : 0);
          closeSync(fix);
        });
      }
      this.rows = previous?.rows ?? [];
      this.done = new Set(this.rows.map((r) => r.idx));
      this.fd = writing(path, () => openSync(path, 'a'));
      if (!previous) this.append(columns);
    } catch (e) {
      this.unlock();
      throw e;
    }
  }

  /** Appends one line: its fields in column order (see certifyFields / predictFields). */
  append(fields: readonly string[]): void {
    // one write(2) of the whole line: a failure (disk full) leaves at most a torn line, cut on resume
    writing(this.path, () => writeSync(this.fd, formatLine(fields)));
  }

  close(): void {
    closeSync(this.fd);
    this.unlock();
  }
}

/**
 * Runs a file operation on the log at `path`; a failure becomes one line naming the file (EACCES,
 * EROFS, ENOSPC, ENOTDIR, EISDIR), a UsageError for what the user can fix by choosing another --out.
 */
function writing<T>(path: string, op: () => T): T {
  try {
    return op();
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why: Record<string, string> = {
      EACCES: 'permission denied',
      EPERM: 'permission denied',
      EROFS: 'read-only file system',
      ENOSPC: 'no space left on the device; free some and rerun the same command to resume',
      ENOTDIR: 'a part of the path is a file, not a folder',
      EISDIR: 'it is a folder',
      EDQUOT: 'disk quota exceeded; rerun the same command to resume once there is room',
    };
    throw new UsageError(
      `cannot write ${path}: ${(code && why[code]) ?? (e as Error).message.split('\n')[0]}`,
    );
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
  // a binary file would otherwise be echoed, bytes and all, in the header error
  if (text.includes('\0') || text.includes('\uFFFD'))
    throw new UsageError(`${path} is a binary file, not a certification log`);
  return parseLog(text, path, options);
}
