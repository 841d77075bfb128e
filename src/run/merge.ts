/**
 * Merging the logs of a sharded run (`--shard i/n`, one process or machine per shard) into the log
 * one unsharded run would have written: lines sorted by idx, and a manifest whose selection has no
 * shard (so that the merged log resumes, analyses and compares like any other).
 *
 * Checks, each a UsageError: every log has its manifest; all are shards of one run (same identity
 * apart from the shard index) and of one split; no shard or idx twice; together they cover every
 * selected input; every shard finished.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UsageError } from '../core/errors.js';
import {
  type RunIdentity,
  type RunManifest,
  identityMismatch,
  manifestBeside,
  manifestPath,
  writeManifest,
} from '../io/manifest.js';
import { type LogRow, type ParsedLog, formatLine, readLogFile, rowFields } from '../io/tsv-log.js';
import { assertConsistent } from '../verify/rederive.js';
import { selectIndices } from './selection.js';

export interface MergeResult {
  out: string;
  lines: number;
  shards: number;
  manifest: RunManifest;
}

interface Shard {
  log: string;
  manifest: RunManifest;
  shard: { index: number; count: number };
}

const shardName = (s: { index: number; count: number }) => `${s.index}/${s.count}`;

/** The identity without the shard, as the unsharded run would have it. */
function unsharded(m: RunIdentity): RunIdentity {
  return { ...m, selection: { ...m.selection, shard: null } };
}

/** "1 input" / "3 inputs" */
const inputs = (k: number) => `${k} input${k === 1 ? '' : 's'}`;

/** Runs `read`, prefixing its UsageErrors with "merge: ". */
function prefixed<T>(read: () => T): T {
  try {
    return read();
  } catch (e) {
    throw e instanceof UsageError ? new UsageError(`merge: ${e.message}`) : e;
  }
}

function readShards(logs: readonly string[]): Shard[] {
  if (logs.length === 0) throw new UsageError('merge: no shard log given');
  return logs.map((log) => {
    if (!existsSync(log)) throw new UsageError(`merge: no such log: ${log}`);
    const manifest = prefixed(() => manifestBeside(log));
    if (!manifest) {
      throw new UsageError(
        `merge: ${log} has no manifest (${manifestPath(log)}); merge needs the logs certify/predict --shard wrote, with their manifests`,
      );
    }
    if (!manifest.selection || !manifest.data) {
      throw new UsageError(`merge: ${manifestPath(log)} is not the manifest of a certify or predict run`);
    }
    if (!manifest.selection.shard) {
      throw new UsageError(
        `merge: ${log} was not written with --shard i/n; there is nothing to merge it with`,
      );
    }
    return { log, manifest, shard: manifest.selection.shard };
  });
}

function checkSameRun(shards: Shard[]): void {
  const [first] = shards;
  for (const s of shards.slice(1)) {
    const diff = identityMismatch(unsharded(first.manifest), unsharded(s.manifest));
    if (diff) {
      throw new UsageError(`merge: ${first.log} and ${s.log} are shards of different runs (${diff})`);
    }
    if (s.shard.count !== first.shard.count) {
      throw new UsageError(
        `merge: ${first.log} is shard ${shardName(first.shard)} but ${s.log} is shard ${shardName(s.shard)}: shards of different splits`,
      );
    }
  }
  const seen = new Map<number, string>();
  for (const s of shards) {
    const other = seen.get(s.shard.index);
    if (other === s.log) throw new UsageError(`merge: ${s.log} is given twice`);
    if (other !== undefined) {
      throw new UsageError(`merge: ${other} and ${s.log} are both shard ${shardName(s.shard)}`);
    }
    seen.set(s.shard.index, s.log);
  }
}

function checkCoverage(shards: Shard[]): number[] {
  const { selection, data } = shards[0].manifest;
  const count = shards[0].shard.count;
  const expected = selectIndices(data.size, { ...selection, shard: null });
  const present = new Set(shards.map((s) => s.shard.index));
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !present.has(i));
  if (missing.length > 0) {
    const uncovered = missing.reduce(
      (k, index) => k + selectIndices(data.size, { ...selection, shard: { index, count } }).length,
      0,
    );
    const names = missing.map((index) => shardName({ index, count }));
    throw new UsageError(
      `merge: shard${missing.length === 1 ? '' : 's'} ${names.join(', ')} missing: ${inputs(uncovered)} of ${expected.length} not covered`,
    );
  }
  return expected;
}

function checkFinished(shards: Shard[]): void {
  const unfinished = shards.filter((s) => !s.manifest.finished);
  if (unfinished.length > 0) {
    const list = unfinished.map((s) => `${s.log} (shard ${shardName(s.shard)})`).join(', ');
    throw new UsageError(
      `merge: unfinished shard${unfinished.length === 1 ? '' : 's'}: ${list}; rerun the same command with the same --out to finish ${unfinished.length === 1 ? 'it' : 'them'}`,
    );
  }
}

/** The lines of a shard log by idx, checked against its share of the selection. */
function readRows(s: Shard): { log: ParsedLog; rows: Map<number, LogRow> } {
  const log = prefixed(() =>
    readLogFile(s.log, {
      onDuplicate: (idx) => {
        throw new UsageError(`${s.log} has idx ${idx} twice`);
      },
    }),
  );
  if (log.torn) throw new UsageError(`merge: ${s.log} ends with an incomplete line; resume that shard first`);
  prefixed(() => assertConsistent(log, s.manifest));
  const rows = new Map(log.rows.map((r) => [r.idx, r]));
  const own = selectIndices(s.manifest.data.size, { ...s.manifest.selection, shard: s.shard });
  const ownSet = new Set(own);
  const foreign = [...rows.keys()].filter((i) => !ownSet.has(i));
  if (foreign.length > 0) {
    throw new UsageError(
      `merge: ${s.log} holds idx ${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ', ...' : ''}, not in shard ${shardName(s.shard)}`,
    );
  }
  const skipped = new Set((s.manifest.skipped ?? []).map((k) => k.idx));
  const absent = own.filter((i) => !rows.has(i) && !skipped.has(i));
  if (absent.length > 0) {
    throw new UsageError(
      `merge: ${s.log} lacks ${inputs(absent.length)} of shard ${shardName(s.shard)} (first idx ${absent[0]}) although its manifest says finished; resume it`,
    );
  }
  return { log, rows };
}

/**
 * Merges shard logs into `out` (which must not exist yet) and writes `<out>.manifest.json`:
 * the shards' common identity with no shard, started = earliest start, finished = latest finish.
 */
export function mergeShards(logs: readonly string[], out: string): MergeResult {
  for (const path of [out, manifestPath(out)]) {
    if (existsSync(path)) throw new UsageError(`merge: ${path} exists; choose another --out or delete it`);
  }
  const shards = readShards(logs);
  checkSameRun(shards);
  const expected = checkCoverage(shards);
  checkFinished(shards);

  let columns: string[] | undefined;
  const owner = new Map<number, string>();
  const rows = new Map<number, LogRow>();
  for (const s of shards) {
    const read = readRows(s);
    if (columns !== undefined && read.log.columns.join('\t') !== columns.join('\t')) {
      throw new UsageError(
        `merge: ${s.log} has other columns than the other shards (${read.log.columns.join(' ')})`,
      );
    }
    columns = read.log.columns;
    for (const [idx, row] of read.rows) {
      const other = owner.get(idx);
      if (other !== undefined) throw new UsageError(`merge: idx ${idx} is in both ${other} and ${s.log}`);
      owner.set(idx, s.log);
      rows.set(idx, row);
    }
  }
  // inputs a shard could not read (corrupt videos) have no line; the merged manifest lists them
  const skipped = shards.flatMap((s) => s.manifest.skipped ?? []).sort((a, b) => a.idx - b.idx);
  const skippedSet = new Set(skipped.map((k) => k.idx));
  const absent = expected.filter((i) => !rows.has(i) && !skippedSet.has(i));
  if (absent.length > 0) {
    throw new UsageError(`merge: the shards do not cover ${inputs(absent.length)} (first idx ${absent[0]})`);
  }

  const starts = shards.map((s) => s.manifest.started).sort();
  const finishes = shards.map((s) => s.manifest.finished);
  const first = shards[0].manifest;
  const manifest: RunManifest = {
    ...first,
    ...unsharded(first),
    // each shard's sessions are in its mergedFrom entry
    resumed: undefined,
    earlierSessions: undefined,
    started: starts[0],
    finished: finishes.every((f) => f !== null) ? finishes.sort()[finishes.length - 1] : null,
    lines: expected.length - skipped.length,
    ...(skipped.length > 0 ? { skipped } : {}),
    mergedFrom: [...shards]
      .sort((a, b) => a.shard.index - b.shard.index)
      .map((s) => ({
        log: s.log,
        shard: s.shard,
        lines: selectIndices(first.data.size, { ...first.selection, shard: s.shard }).length,
        started: s.manifest.started,
        ...(s.manifest.resumed ? { resumed: s.manifest.resumed } : {}),
        finished: s.manifest.finished,
        machine: s.manifest.machine,
        ...(s.manifest.earlierSessions ? { earlierSessions: s.manifest.earlierSessions } : {}),
      })),
  };
  mkdirSync(dirname(out), { recursive: true });
  const merged = { columns: columns ?? [] };
  const written = expected.filter((i) => rows.has(i));
  const text = [columns ?? [], ...written.map((i) => rowFields(merged, rows.get(i) as LogRow))]
    .map(formatLine)
    .join('');
  writeFileSync(`${out}.tmp`, text);
  renameSync(`${out}.tmp`, out);
  writeManifest(out, manifest);
  return { out, lines: written.length, shards: shards.length, manifest };
}
