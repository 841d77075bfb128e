/**
 * Where the ffmpeg executable comes from, in this order:
 * 1. `SMOOTH_REDUCE_FFMPEG` (a path), when set;
 * 2. the npm package `@ffmpeg-installer/ffmpeg`, whose per-platform package ships a static ffmpeg
 *    inside its registry tarball (so `npm ci` brings it, nothing is downloaded at run time);
 * 3. `ffmpeg` on PATH.
 * Neither: a one-line UsageError saying so.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { UsageError } from '../core/errors.js';

export interface Ffmpeg {
  path: string;
  /** where it came from, for manifests and messages */
  source: 'SMOOTH_REDUCE_FFMPEG' | '@ffmpeg-installer/ffmpeg' | 'PATH';
  /** first line of `ffmpeg -version` */
  version: string;
}

let cached: Ffmpeg | undefined;

function versionOf(path: string): string | undefined {
  const r = spawnSync(path, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 20_000 });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout.split('\n')[0].trim();
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function bundled(): string | undefined {
  try {
    const { path } = createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string };
    return executable(path) ? path : undefined;
  } catch {
    // the package throws (a string) on platforms it has no binary for
    return undefined;
  }
}

/** The ffmpeg to spawn (looked up once per process). */
export function findFfmpeg(): Ffmpeg {
  const override = process.env.SMOOTH_REDUCE_FFMPEG;
  if (override) {
    if (cached?.path === override) return cached;
    const version = versionOf(override);
    if (!version) throw new UsageError(`SMOOTH_REDUCE_FFMPEG=${override} is not a working ffmpeg`);
    return (cached = { path: override, source: 'SMOOTH_REDUCE_FFMPEG', version });
  }
  if (cached && cached.source !== 'SMOOTH_REDUCE_FFMPEG') return cached;
  const fromPackage = bundled();
  const packageVersion = fromPackage && versionOf(fromPackage);
  if (fromPackage && packageVersion) {
    return (cached = { path: fromPackage, source: '@ffmpeg-installer/ffmpeg', version: packageVersion });
  }
  const onPath = versionOf('ffmpeg');
  if (onPath) return (cached = { path: 'ffmpeg', source: 'PATH', version: onPath });
  throw new UsageError(
    'ffmpeg not found: @ffmpeg-installer/ffmpeg has no binary for this platform (run npm ci) and there is no ffmpeg on PATH (e.g. apt-get install ffmpeg)',
  );
}
