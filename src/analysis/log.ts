/**
 * Reader for certification logs: Cohen et al.'s TSV (`idx label predict radius correct time`, or
 * `idx label predict correct time` for PREDICT) followed by any extra columns of ours (`pA_lower`,
 * `radius_smoothing`, `count_A`, `n`, ...). Columns are found by name, never by position. The run
 * manifest beside the log (`<log>.manifest.json`), when present, names the run and the radius space.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { UsageError } from '../core/errors.js';
import { MANIFEST_FORMAT, manifestPath } from '../io/manifest.js';
import type { Outcome } from './metrics.js';

export type LogKind = 'certify' | 'predict';

/** Which radius a log's numbers are analysed in: `radius` (input space) or `radius_smoothing`. */
export type RadiusSpace = 'input' | 'smoothing';

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

/** The parts of our run manifest the analysis uses; everything else is kept as read. */
export interface ManifestInfo {
  format: string;
  version?: number;
  label?: string;
  options?: Record<string, unknown>;
  radiusSpace?: string;
  smoothingSpace?: string;
  noiseScale?: number;
  [key: string]: unknown;
}

export interface CertificationLog {
  path: string;
  kind: LogKind;
  columns: string[];
  rows: LogRow[];
  manifest: ManifestInfo | null;
  /** things worth telling the user that do not stop the analysis (e.g. a torn last line) */
  warnings: string[];
}

const COMMON_COLUMNS = ['idx', 'label', 'predict', 'correct', 'time'];

/**
 * Parses the text of a log. `source` names the file in messages. A malformed line is a UsageError
 * naming `source:line`; a last line without its newline (a run killed mid-write) is left out and
 * reported in `warnings`.
 */
export function parseLog(text: string, source: string): Omit<CertificationLog, 'manifest'> {
  const warnings: string[] = [];
  const lines = text.split('\n');
  // text ending in '\n' splits into a last empty string; anything else there is a torn line
  const last = lines.pop() ?? '';
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
    rows.push({
      idx: int('idx', 0),
      label: int('label', 0),
      predict: int('predict', -1),
      correct: correct === '1',
      radius: kind === 'certify' ? radius('radius') : null,
      radiusSmoothing: hasSmoothing ? radius('radius_smoothing') : null,
      time,
      fields,
      line: i + 1,
    });
  }
  return { path: source, kind, columns, rows, warnings };
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

/** Reads a log and the manifest beside it (if any). Missing or unreadable files are UsageErrors. */
export function readLog(path: string): CertificationLog {
  if (!existsSync(path)) throw new UsageError(`no such log: ${path}`);
  if (statSync(path).isDirectory()) throw new UsageError(`${path} is a directory, not a log`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as Error).message}`);
  }
  return { ...parseLog(text, path), manifest: readManifestInfo(path) };
}

/** The manifest beside `logPath`, or null when there is none. A broken one is a UsageError. */
export function readManifestInfo(logPath: string): ManifestInfo | null {
  const path = manifestPath(logPath);
  if (!existsSync(path)) return null;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`cannot read run manifest ${path}: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || (value as ManifestInfo).format !== MANIFEST_FORMAT) {
    throw new UsageError(`${path} is not a run manifest (expected "format": "${MANIFEST_FORMAT}")`);
  }
  return value as ManifestInfo;
}

/**
 * What the analysis needs of each input, with the radius of the chosen space: `radius` (input
 * space, the default) or `radius_smoothing`, which a log must have for `space = 'smoothing'`.
 */
export function outcomes(log: CertificationLog, space: RadiusSpace = 'input'): Outcome[] {
  if (space === 'smoothing' && log.kind === 'certify' && !log.columns.includes('radius_smoothing')) {
    throw new UsageError(
      `${log.path} has no radius_smoothing column, so it cannot be analysed in smoothing space`,
    );
  }
  return log.rows.map((r) => ({
    idx: r.idx,
    label: r.label,
    predict: r.predict,
    correct: r.correct,
    radius: space === 'smoothing' ? r.radiusSmoothing : r.radius,
    time: r.time,
    samples: 'n' in r.fields && r.fields.n !== '' ? Number(r.fields.n) : null,
  }));
}

/**
 * A name for each log: the manifest's `label` when it has one, else a name from the path: the
 * file name without `.tsv`/`.txt`, or for extension-less files like Cohen's the last three parts
 * (`noise_0.25/test/sigma_0.25`); more leading parts are added while two names collide.
 */
export function runLabels(logs: Pick<CertificationLog, 'path' | 'manifest'>[]): string[] {
  const parts = logs.map((l) => l.path.split(/[\\/]+/).filter((p) => p.length > 0 && p !== '.'));
  const depth = logs.map((l) => (/\.[A-Za-z][A-Za-z0-9]*$/.test(basename(l.path)) ? 1 : 3));
  const suffix = logs.map(() => false);
  const fromPath = (i: number) => {
    const p = parts[i].slice(-depth[i]);
    if (p.length > 0) p[p.length - 1] = p[p.length - 1].replace(/\.(tsv|txt|log)$/i, '');
    return p.join('/');
  };
  const label = (i: number) => {
    const given = logs[i].manifest?.label;
    if (typeof given !== 'string' || given.length === 0) return fromPath(i);
    return suffix[i] ? `${given} (${fromPath(i)})` : given;
  };
  let labels = logs.map((_, i) => label(i));
  for (;;) {
    const count = new Map<string, number>();
    for (const l of labels) count.set(l, (count.get(l) ?? 0) + 1);
    let changed = false;
    labels.forEach((l, i) => {
      if ((count.get(l) ?? 0) < 2) return;
      const given = logs[i].manifest?.label;
      if (typeof given === 'string' && given.length > 0 && !suffix[i]) {
        suffix[i] = true;
      } else if (depth[i] < parts[i].length) {
        depth[i]++;
      } else {
        return;
      }
      changed = true;
    });
    if (!changed) return labels;
    labels = logs.map((_, i) => label(i));
  }
}

/** The words that say which space a radius is in, for captions and axis titles. */
export function spaceDescription(logs: Pick<CertificationLog, 'manifest'>[], space: RadiusSpace): string {
  if (space === 'input') return 'input space';
  const named = [
    ...new Set(logs.map((l) => l.manifest?.smoothingSpace).filter((s) => typeof s === 'string')),
  ];
  return named.length === 1 ? `smoothing space: ${named[0]}` : 'smoothing space';
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
