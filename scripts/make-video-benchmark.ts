/**
 * A deterministic video benchmark whose label needs time: "moving Fashion-MNIST".
 *
 * Clip i shows Fashion-MNIST image `first + i` (28 x 28, centred on a black 32 x 32 canvas)
 * scrolling over the canvas with wrap-around (a torus), in one of four directions, the label:
 * down, left, right, up (label i mod 4), at 1 or 2 canvas pixels per frame, from a uniformly random
 * start offset. Because of the wrap-around and the uniform offset, every single frame has the same
 * distribution whatever the direction: one frame cannot tell the class, only motion can.
 *
 * Each clip is `--frames` frames at `--fps`, upscaled 2x (nearest) to 64 x 64 and encoded with
 * ffmpeg, in turn as MP4/H.264, WebM/VP9 and AVI/MJPEG (bit-exact flags, one encoder thread, so
 * the same ffmpeg writes the same bytes). The output is laid out as UCF-101: `<out>/<class>/<clip>`,
 * `classInd.txt` and `<split>list01.txt`. Offsets, speeds and everything else come from `--seed`.
 *
 *   node --import tsx scripts/make-video-benchmark.ts --images data/fashion-mnist-sample/t10k-images-idx3-ubyte.gz \
 *       --first 0 --count 200 --seed 1 --split test --out data/moving-fmnist
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GaussianRng } from '../src/core/rng.js';
import { findFfmpeg } from '../src/data/ffmpeg.js';
import { parseIdx } from '../src/data/idx.js';

export const MOTION_CLASSES = ['down', 'left', 'right', 'up'];
const DIRECTIONS: [number, number][] = [
  [0, 1],
  [-1, 0],
  [1, 0],
  [0, -1],
];
const CANVAS = 32;
const UPSCALE = 2;
const CODECS: { ext: string; args: string[] }[] = [
  { ext: 'mp4', args: ['-c:v', 'libx264', '-preset', 'medium', '-crf', '18', '-pix_fmt', 'yuv420p'] },
  {
    ext: 'webm',
    args: ['-c:v', 'libvpx-vp9', '-crf', '30', '-b:v', '0', '-deadline', 'good', '-cpu-used', '5'],
  },
  { ext: 'avi', args: ['-c:v', 'mjpeg', '-q:v', '3', '-pix_fmt', 'yuvj420p'] },
];

/** The frames of one clip (T x 32 x 32 gray bytes). */
export function renderClip(
  image: Uint8Array,
  side: number,
  label: number,
  speed: number,
  offset: [number, number],
  frames: number,
): Uint8Array {
  const base = new Uint8Array(CANVAS * CANVAS);
  const pad = (CANVAS - side) >> 1;
  for (let y = 0; y < side; y++)
    base.set(image.subarray(y * side, y * side + side), (y + pad) * CANVAS + pad);
  const out = new Uint8Array(frames * CANVAS * CANVAS);
  const [dx, dy] = DIRECTIONS[label];
  for (let t = 0; t < frames; t++) {
    const ox = offset[0] + dx * speed * t;
    const oy = offset[1] + dy * speed * t;
    for (let y = 0; y < CANVAS; y++) {
      const sy = (((y - oy) % CANVAS) + CANVAS) % CANVAS;
      for (let x = 0; x < CANVAS; x++) {
        const sx = (((x - ox) % CANVAS) + CANVAS) % CANVAS;
        out[t * CANVAS * CANVAS + y * CANVAS + x] = base[sy * CANVAS + sx];
      }
    }
  }
  return out;
}

/** Encodes T x 32 x 32 gray frames to `file`, with the codec its extension (mp4, webm, avi) stands for. */
export function encodeClip(ffmpeg: string, frames: Uint8Array, fps: number, file: string): Promise<void> {
  const codec = CODECS.find((c) => file.endsWith(`.${c.ext}`));
  if (!codec) throw new Error(`${file}: expected .${CODECS.map((c) => c.ext).join(', .')}`);
  const args = [
    ...['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'rawvideo', '-pix_fmt', 'gray', '-s', `${CANVAS}x${CANVAS}`, '-r', String(fps), '-i', 'pipe:0'],
    ...['-vf', `scale=${CANVAS * UPSCALE}:${CANVAS * UPSCALE}:flags=neighbor`, '-an', '-map_metadata', '-1'],
    ...['-fflags', '+bitexact', '-flags:v', '+bitexact', '-threads', '1', ...codec.args, file],
  ];
  return new Promise<void>((resolve, reject) => {
    const child = spawn(ffmpeg, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${file}: ffmpeg: ${err.trim()}`)),
    );
    child.stdin.end(Buffer.from(frames.buffer, frames.byteOffset, frames.byteLength));
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      images: { type: 'string' },
      first: { type: 'string', default: '0' },
      count: { type: 'string', default: '200' },
      seed: { type: 'string', default: '0' },
      frames: { type: 'string', default: '64' },
      fps: { type: 'string', default: '24' },
      split: { type: 'string', default: 'test' },
      out: { type: 'string' },
    },
  });
  if (!values.images || !values.out)
    throw new Error('--images <IDX images file> and --out <folder> are required');
  const [first, count, seed, frames, fps] = [
    values.first,
    values.count,
    values.seed,
    values.frames,
    values.fps,
  ].map(Number);
  const { dims, data } = parseIdx(readFileSync(values.images), values.images);
  const side = dims[1];
  if (first + count > dims[0])
    throw new Error(`${values.images} holds ${dims[0]} images, asked for ${first + count}`);
  const ffmpeg = findFfmpeg().path;
  const rng = new GaussianRng(seed, 0);
  const list: string[] = [];
  const jobs: (() => Promise<void>)[] = [];
  for (const c of MOTION_CLASSES) mkdirSync(join(values.out, c), { recursive: true });
  for (let i = 0; i < count; i++) {
    const label = i % MOTION_CLASSES.length;
    const speed = 1 + rng.nextBelow(2);
    const offset: [number, number] = [rng.nextBelow(CANVAS), rng.nextBelow(CANVAS)];
    const codec = CODECS[i % CODECS.length];
    const name = `${MOTION_CLASSES[label]}/v_${MOTION_CLASSES[label]}_${String(first + i).padStart(5, '0')}.${codec.ext}`;
    const image = data.subarray((first + i) * side * side, (first + i + 1) * side * side);
    list.push(values.split === 'train' ? `${name} ${label + 1}` : name);
    jobs.push(() =>
      encodeClip(ffmpeg, renderClip(image, side, label, speed, offset, frames), fps, join(values.out!, name)),
    );
  }
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]();
  };
  await Promise.all([worker(), worker()]);
  writeFileSync(join(values.out, 'classInd.txt'), MOTION_CLASSES.map((c, i) => `${i + 1} ${c}\n`).join(''));
  writeFileSync(join(values.out, `${values.split}list01.txt`), list.map((l) => `${l}\n`).join(''));
  console.log(`wrote ${count} clips to ${values.out}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(`make-video-benchmark: ${(e as Error).message}`);
    process.exit(1);
  });
}
