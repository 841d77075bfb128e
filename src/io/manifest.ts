/**
 * The run manifest, `<log>.manifest.json` beside every log: everything needed to reproduce or
 * resume the run (options, model sha256, data, index range, seed, versions, machine, times).
 */
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { createRequire } from 'node:module';
import { UsageError } from '../core/errors.js';
import { packageVersion } from '../package-root.js';
import type { FloatingPointRecord } from '../smoothed-classifier.js';
import { readJsonFile } from './json.js';

export const MANIFEST_FORMAT = 'smooth-reduce-run';
export const MANIFEST_VERSION = 1;

/** How the data reader transforms the stored images; only the options the user gave. */
export interface DataTransform {
  /** image folders: shorter side scaled to this many pixels */
  resize?: number;
  /** image folders: central square cut after resizing */
  centerCrop?: number;
  /** channels the images are converted to */
  channels?: 1 | 3;
  /** video: frames per clip, frame rate, frame size, padding of short clips, split list */
  frames?: number;
  fps?: number;
  size?: number;
  padFrames?: boolean;
  split?: string;
}

/** The part of a manifest that decides the log's content: a resumed run must match it exactly. */
export interface RunIdentity {
  command: 'certify' | 'predict';
  /** every option that changes a certificate (not batch size, threads or display) */
  options: Record<string, unknown>;
  /**
   * the .onnx file's path and sha256, its card's name; for models loaded from files also the
   * external data files (relative to the model's folder, with sha256) and the sha256 of the card's
   * computation fields (null without a card): manifests before them lack both
   */
  model: {
    path: string;
    sha256: string;
    name: string;
    externalData?: { path: string; sha256: string }[];
    cardSha256?: string | null;
  };
  /** denoised smoothing: the denoiser run before the model (compared through options.denoiser) */
  denoiser?: { path: string; sha256: string; name: string };
  data: { spec: string; description: string; size: number; transform?: DataTransform };
  selection: { skip: number; max: number; shard: { index: number; count: number } | null };
}

export interface RunManifest extends RunIdentity {
  format: typeof MANIFEST_FORMAT;
  version: number;
  label: string;
  /** what the log's `radius` column means */
  radiusSpace: 'input';
  smoothingSpace: string;
  /** upper bound on ||M||_2 (input -> smoothing space); null when it differs per input (random patches) */
  noiseScale: number | null;
  /**
   * what keeps certificates sound in floating point (README, Radius space): the grid noisy values
   * are snapped to, the per-coordinate total-variation bound of the sampler (charged, times the
   * smoothing-space dimension, to pA's lower bound), the relative margin of computed bounds
   */
  floatingPoint?: FloatingPointRecord;
  /** inputs that could not be read (corrupt or short videos): no log line, retried on resume */
  skipped?: { idx: number; reason: string }[];
  /** how the run was executed (none of it changes a certificate); callMemory in bytes */
  execution: {
    batch: number;
    callMemory?: number | null;
    device: string;
    threads: number | null;
    /** the logs certified from the same model calls (`certify --also`), this one excluded */
    sharedCalls?: string[];
  };
  versions: Record<string, string>;
  /** the machine of the session that last wrote the log (earlier ones: earlierSessions) */
  machine: { cpu: string; cores: number; memoryGiB: number; platform: string };
  /** when the run's first session started */
  started: string;
  /** when the session that last wrote the log resumed it; absent when that session started it */
  resumed?: string;
  /**
   * for a resumed log, the sessions before the last one, oldest first: where and how each ran (a
   * log may be resumed on another machine, with other threads or versions) and how many inputs the
   * log held when the next session took over
   */
  earlierSessions?: SessionRecord[];
  finished: string | null;
  /** inputs in the log when the run last finished */
  lines: number | null;
  /** for a run spread over machines through a Redis queue (`certify --queue`): who ran what */
  queue?: {
    /** the Redis server, without password */
    redis: string;
    run: string;
    /** inputs per job */
    chunk: number;
    attempts: number;
    /** per worker name: how many inputs it ran and which ("0..9, 12") */
    workers: Record<string, { inputs: number; indices: string }>;
  };
  /** for a log merged from shards (`smooth-reduce merge`): where each shard came from */
  mergedFrom?: {
    log: string;
    shard: { index: number; count: number };
    lines: number;
    started: string;
    resumed?: string;
    finished: string | null;
    machine: RunManifest['machine'];
    /** the shard's sessions before its last one, when it was resumed */
    earlierSessions?: SessionRecord[];
  }[];
}

/** One session of a resumed run (RunManifest.earlierSessions). */
export interface SessionRecord {
  started: string;
  /** inputs in the log when the next session resumed it */
  lines: number;
  machine: RunManifest['machine'];
  execution: RunManifest['execution'];
  versions: Record<string, string>;
}

/** The sessions of `previous` (the manifest a resumed log had), with the one that wrote it last. */
export function sessionsBefore(previous: RunManifest, lines: number): SessionRecord[] {
  const last: SessionRecord = {
    started: previous.resumed ?? previous.started,
    lines,
    machine: previous.machine,
    execution: previous.execution,
    versions: previous.versions,
  };
  return [...(previous.earlierSessions ?? []), last];
}

export function manifestPath(logPath: string): string {
  return `${logPath}.manifest.json`;
}

/**
 * Reads a run manifest: the one reader, for resume, merge and analysis. Unreadable JSON or another
 * `format` is a UsageError. Manifests of other versions (or hand-written ones, as in the analysis
 * fixtures) may lack fields: readers that need one check it.
 */
export function readManifest(path: string): RunManifest {
  const value = readJsonFile(path, 'run manifest');
  if (typeof value !== 'object' || value === null || (value as RunManifest).format !== MANIFEST_FORMAT) {
    throw new UsageError(`${path} is not a run manifest (expected "format": "${MANIFEST_FORMAT}")`);
  }
  return value as RunManifest;
}

/** Writes atomically (temp file + rename), so a kill never leaves half a manifest. */
export function writeManifest(logPath: string, manifest: RunManifest): void {
  const path = manifestPath(logPath);
  writeFileSync(`${path}.tmp`, JSON.stringify(manifest, null, 2) + '\n');
  renameSync(`${path}.tmp`, path);
}

/**
 * For a resumed log: the existing manifest must describe the same run. Returns the differences
 * as one readable line, or null.
 */
export function identityMismatch(previous: RunIdentity, current: RunIdentity): string | null {
  const diffs: string[] = [];
  const walk = (a: unknown, b: unknown, key: string) => {
    if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
      const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
      for (const k of keys)
        walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], key ? `${key}.${k}` : k);
    } else if (JSON.stringify(a) !== JSON.stringify(b)) {
      diffs.push(`${key}: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`);
    }
  };
  walk(
    {
      command: previous.command,
      options: previous.options,
      model: modelKey(previous.model),
      data: previous.data,
      selection: previous.selection,
    },
    {
      command: current.command,
      options: current.options,
      model: modelKey(current.model),
      data: current.data,
      selection: current.selection,
    },
    '',
  );
  return diffs.length ? diffs.join(', ') : null;
}

/** What of a manifest's model decides the log: the .onnx, its external data and its card. */
function modelKey(model: RunIdentity['model']): Record<string, unknown> {
  return { sha256: model.sha256, externalData: model.externalData, cardSha256: model.cardSha256 };
}

/** The manifest beside the log `logPath`, or null when there is none. */
export function manifestBeside(logPath: string): RunManifest | null {
  return existsSync(manifestPath(logPath)) ? readManifest(manifestPath(logPath)) : null;
}

export function softwareVersions(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const version = (pkg: string) => {
    try {
      return (require(`${pkg}/package.json`) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  };
  return {
    'smooth-reduce': packageVersion,
    'onnxruntime-node': version('onnxruntime-node'),
    node: process.versions.node,
  };
}

export function machineDescription(): RunManifest['machine'] {
  const c = cpus();
  return {
    cpu: c[0]?.model ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    platform: `${process.platform}-${process.arch}`,
  };
}
