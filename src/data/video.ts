/**
 * Clips from video files and frame folders, as `C x T x H x W` Float32Arrays in [0, 1].
 *
 * Video files are decoded by spawning ffmpeg (src/data/ffmpeg.ts) and streaming raw frames from its
 * stdout: no temporary files, one decode per clip. The filter chain resamples to `fps` (ffmpeg's
 * `fps` filter: frames dropped or repeated to the new rate), scales the shorter side to `size`
 * (bilinear) and cuts the central `size x size` square, then keeps the first `frames` frames. A clip
 * shorter than that is padded by repeating its last frame (`pad`) or refused. ffmpeg converts to
 * 8-bit gray (`channels: 1`, its BT.601 luma) or RGB.
 *
 * A frame folder (one folder of JPEG/PNG frames per clip, in name order) is read with sharp: each
 * frame scaled so that its shorter side is `size`, centre cropped; it has no frame rate, so its
 * frames are taken as stored.
 *
 * Every failure is an InputError naming the file and the reason (ffmpeg's own message), so that a
 * run can skip the clip and go on.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import { InputError, UsageError } from '../core/errors.js';
import { findFfmpeg } from './ffmpeg.js';
import { IMAGE_EXTENSIONS } from './image-folder.js';

export interface ClipOptions {
  /** frames per clip (T) */
  frames: number;
  /** frame rate to resample video files to */
  fps: number;
  /** side of the square frames (H = W) */
  size: number;
  channels: 1 | 3;
  /** pad a short clip by repeating its last frame (else: refuse it) */
  pad: boolean;
}

/** The file extensions read as video files (case-insensitive). */
export const VIDEO_EXTENSIONS = [
  '.mp4',
  '.m4v',
  '.mov',
  '.mkv',
  '.webm',
  '.avi',
  '.mpg',
  '.mpeg',
  '.ogv',
  '.flv',
  '.wmv',
  '.3gp',
  '.ts',
];

export function isVideoFile(name: string): boolean {
  return VIDEO_EXTENSIONS.includes(extname(name).toLowerCase());
}

export function checkClipOptions(o: ClipOptions): void {
  const whole = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1)
      throw new UsageError(`${name} must be a positive whole number, got ${v}`);
  };
  whole('--frames', o.frames);
  whole('--size', o.size);
  if (!(o.fps > 0) || !Number.isFinite(o.fps)) throw new UsageError(`--fps must be > 0, got ${o.fps}`);
  if (o.channels !== 1 && o.channels !== 3)
    throw new UsageError(`channels must be 1 or 3, got ${o.channels}`);
}

/** The ffmpeg command line that streams the clip's raw frames to stdout. */
export function ffmpegArguments(file: string, o: ClipOptions): string[] {
  const s = o.size;
  const filters = [
    `fps=${o.fps}`,
    `scale=${s}:${s}:force_original_aspect_ratio=increase:flags=bilinear`,
    `crop=${s}:${s}`,
  ];
  return [
    ...['-nostdin', '-hide_banner', '-loglevel', 'error', '-i', file, '-an', '-sn', '-dn'],
    ...['-vf', filters.join(','), '-frames:v', String(o.frames)],
    ...['-f', 'rawvideo', '-pix_fmt', o.channels === 1 ? 'gray' : 'rgb24', 'pipe:1'],
  ];
}

/** ffmpeg's reason, on one line: its last message, without the file name it repeats. */
function ffmpegReason(stderr: string, file: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const last = lines.at(-1);
  if (!last) return 'no frames decoded';
  return last.startsWith(`${file}: `) ? last.slice(file.length + 2) : last;
}

/** Decodes the first `o.frames` frames of a video file into a C x T x H x W clip. */
export function decodeVideo(file: string, o: ClipOptions): Promise<Float32Array> {
  const ffmpeg = findFfmpeg();
  const frameBytes = o.size * o.size * o.channels;
  const raw = Buffer.alloc(frameBytes * o.frames);
  let received = 0;
  let stderr = '';
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg.path, ffmpegArguments(file, o), { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => {
      const take = Math.min(chunk.length, raw.length - received);
      chunk.copy(raw, received, 0, take);
      received += take;
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      if (stderr.length < 16_384) stderr += s;
    });
    child.on('error', (e) => reject(new UsageError(`cannot run ffmpeg (${ffmpeg.path}): ${e.message}`)));
    child.on('close', (code, signal) => {
      const decoded = Math.floor(received / frameBytes);
      if (code !== 0 || decoded === 0) {
        const why = code !== 0 && signal ? `ffmpeg killed by ${signal}` : ffmpegReason(stderr, file);
        reject(new InputError(`${file}: cannot decode (${why})`));
        return;
      }
      try {
        resolve(toClip(raw, decoded, file, o, ` at ${o.fps} fps`));
      } catch (e) {
        reject(e);
      }
    });
  });
}

/**
 * `decoded` interleaved frames (T x H x W x C bytes) -> the planar C x T x H x W clip in [0, 1],
 * padded with the last frame or refused when short.
 */
function toClip(raw: Uint8Array, decoded: number, file: string, o: ClipOptions, rate: string): Float32Array {
  if (decoded < o.frames && !o.pad) {
    throw new InputError(
      `${file}: ${decoded} frame(s)${rate}, fewer than --frames ${o.frames} (--pad-frames repeats the last frame)`,
    );
  }
  const { channels: C, frames: T } = o;
  const plane = o.size * o.size;
  const clip = new Float32Array(C * T * plane);
  for (let t = 0; t < T; t++) {
    const src = Math.min(t, decoded - 1) * plane * C;
    for (let c = 0; c < C; c++) {
      const dst = (c * T + t) * plane;
      for (let i = 0; i < plane; i++) clip[dst + i] = raw[src + i * C + c] / 255;
    }
  }
  return clip;
}

/** The image files of a frame folder, in name order. */
export function frameFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => !name.startsWith('.') && IMAGE_EXTENSIONS.includes(extname(name).toLowerCase()))
    .sort()
    .map((name) => join(dir, name));
}

/** Reads the first `o.frames` frames of a frame folder into a C x T x H x W clip. */
export async function readFrameFolder(dir: string, o: ClipOptions): Promise<Float32Array> {
  const files = frameFiles(dir).slice(0, o.frames);
  if (files.length === 0) throw new InputError(`${dir}: frame folder without JPEG or PNG frames`);
  const frameBytes = o.size * o.size * o.channels;
  const raw = new Uint8Array(frameBytes * files.length);
  for (const [t, file] of files.entries()) {
    try {
      let image = sharp(file, { failOn: 'truncated', ignoreIcc: true })
        .removeAlpha()
        .resize({ width: o.size, height: o.size, fit: 'cover', position: 'centre', kernel: 'linear' });
      image = o.channels === 1 ? image.grayscale() : image.toColourspace('srgb');
      const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
      if (data.length !== frameBytes)
        throw new Error(`decoded ${info.width}x${info.height}x${info.channels}`);
      raw.set(data, t * frameBytes);
    } catch (e) {
      throw new InputError(`${file}: cannot decode frame (${String((e as Error).message).split('\n')[0]})`);
    }
  }
  return toClip(raw, files.length, dir, o, '');
}
