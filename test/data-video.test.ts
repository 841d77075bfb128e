/**
 * Video input: clips decoded by ffmpeg from MP4/H.264, WebM/VP9 and AVI/MJPEG files, frame folders,
 * class folders with and without UCF-101 split lists, and the errors for broken input.
 * Skips with one line when no ffmpeg is available.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { encodeClip, renderClip } from '../scripts/make-video-benchmark.js';
import { InputError, UsageError } from '../src/core/errors.js';
import { findFfmpeg } from '../src/data/ffmpeg.js';
import { parseIdx } from '../src/data/idx.js';
import { openDataset } from '../src/data/open.js';
import { VideoFolderDataset } from '../src/data/video-folder.js';
import { decodeVideo } from '../src/data/video.js';

let ffmpeg: string | undefined;
try {
  ffmpeg = findFfmpeg().path;
} catch (e) {
  console.log(`# skipping video tests: ${(e as Error).message}`);
}
const skip = ffmpeg ? false : 'no ffmpeg';

const dir = mkdtempSync(join(tmpdir(), 'smooth-reduce-video-'));
const fmnist = parseIdx(readFileSync('data/fashion-mnist-sample/t10k-images-idx3-ubyte.gz'), 'fmnist');
/** 24 frames at 24 fps of image i moving right (label 2) at 1 px/frame, from offset (3, 5). */
const rendered = (i: number) =>
  renderClip(fmnist.data.subarray(i * 784, (i + 1) * 784), 28, 2, 1, [3, 5], 24);
const opts = { frames: 12, fps: 12, size: 32, channels: 1 as const, pad: false };

before(async () => {
  if (!ffmpeg) return;
  for (const [i, ext] of ['mp4', 'webm', 'avi'].entries()) {
    mkdirSync(join(dir, 'plain', ext), { recursive: true });
    await encodeClip(ffmpeg, rendered(i), 24, join(dir, 'plain', ext, `clip.${ext}`));
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Mean absolute difference between a decoded clip (1 x T x 32 x 32) and rendered frames step * t. */
function error(clip: Float32Array, frames: Uint8Array, T: number, step: number): number {
  let sum = 0;
  for (let t = 0; t < T; t++)
    for (let i = 0; i < 1024; i++) sum += Math.abs(clip[t * 1024 + i] - frames[step * t * 1024 + i] / 255);
  return sum / (T * 1024);
}

test('decodes MP4/H.264, WebM/VP9 and AVI/MJPEG to the frames that were encoded', { skip }, async () => {
  for (const [i, ext] of ['mp4', 'webm', 'avi'].entries()) {
    const clip = await decodeVideo(join(dir, 'plain', ext, `clip.${ext}`), { ...opts, frames: 24, fps: 24 });
    assert.equal(clip.length, 24 * 32 * 32);
    const e = error(clip, rendered(i), 24, 1);
    assert.ok(e < 0.05, `${ext}: mean absolute error ${e.toFixed(4)} against the rendered frames`);
  }
  // resampled from 24 to 12 fps: every other frame
  const half = await decodeVideo(join(dir, 'plain', 'mp4', 'clip.mp4'), opts);
  assert.ok(error(half, rendered(0), 12, 2) < 0.02);
});

test('scales the shorter side and centre-crops; RGB is channel-planar', { skip }, async () => {
  const clip = await decodeVideo(join(dir, 'plain', 'mp4', 'clip.mp4'), { ...opts, size: 16, channels: 3 });
  assert.equal(clip.length, 3 * 12 * 16 * 16);
  // gray video: the three planes agree
  const plane = 12 * 256;
  for (let i = 0; i < plane; i += 97) assert.ok(Math.abs(clip[i] - clip[plane + i]) < 0.02);
});

test('a short clip is refused, or padded with its last frame', { skip }, async () => {
  const file = join(dir, 'plain', 'avi', 'clip.avi');
  await assert.rejects(decodeVideo(file, { ...opts, frames: 20 }), (e: Error) => {
    assert.ok(e instanceof InputError);
    assert.match(e.message, /clip\.avi: 12 frame\(s\) at 12 fps, fewer than --frames 20 \(--pad-frames/);
    return true;
  });
  const padded = await decodeVideo(file, { ...opts, frames: 20, pad: true });
  assert.deepEqual(padded.subarray(19 * 1024, 20 * 1024), padded.subarray(11 * 1024, 12 * 1024));
});

test(
  'corrupt, truncated and empty files fail with one line naming the file and ffmpeg reason',
  { skip },
  async () => {
    const good = readFileSync(join(dir, 'plain', 'mp4', 'clip.mp4'));
    const cases: [string, Buffer][] = [
      ['truncated.mp4', good.subarray(0, 200)],
      ['empty.webm', Buffer.alloc(0)],
      ['noise.avi', Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251))],
    ];
    for (const [name, bytes] of cases) {
      const file = join(dir, name);
      writeFileSync(file, bytes);
      await assert.rejects(decodeVideo(file, opts), (e: Error) => {
        assert.ok(e instanceof InputError, `${name}: ${e.name}`);
        assert.ok(e.message.startsWith(`${file}: cannot decode (`), e.message);
        assert.ok(!e.message.includes('\n'));
        return true;
      });
    }
  },
);

test('a missing ffmpeg is one usage error', async () => {
  const saved = process.env.SMOOTH_REDUCE_FFMPEG;
  process.env.SMOOTH_REDUCE_FFMPEG = join(dir, 'no-such-ffmpeg');
  try {
    assert.throws(
      () => findFfmpeg(),
      (e: Error) => e instanceof UsageError && /not a working ffmpeg/.test(e.message),
    );
  } finally {
    if (saved === undefined) delete process.env.SMOOTH_REDUCE_FFMPEG;
    else process.env.SMOOTH_REDUCE_FFMPEG = saved;
  }
});

test('class folders of videos and of frame folders; UCF-101 split lists', { skip }, async () => {
  // class folders: sorted classes, sorted clips; a frame folder is a clip too
  const root = join(dir, 'classes');
  mkdirSync(join(root, 'a'), { recursive: true });
  mkdirSync(join(root, 'b', 'frames'), { recursive: true });
  copyFileSync(join(dir, 'plain', 'webm', 'clip.webm'), join(root, 'a', 'x.webm'));
  copyFileSync(join(dir, 'plain', 'mp4', 'clip.mp4'), join(root, 'a', 'y.mp4'));
  writeFileSync(join(root, 'a', 'notes.txt'), 'not a clip');
  const frames = rendered(0);
  for (let t = 0; t < 12; t++) {
    await sharp(Buffer.from(frames.subarray(t * 1024, (t + 1) * 1024)), {
      raw: { width: 32, height: 32, channels: 1 },
    })
      .png()
      .toFile(join(root, 'b', 'frames', `${String(t).padStart(3, '0')}.png`));
  }
  const data = openDataset(root, { video: opts });
  assert.ok(data instanceof VideoFolderDataset);
  assert.deepEqual(data.classes, ['a', 'b']);
  assert.equal(data.size, 3);
  assert.deepEqual(data.shape, { channels: 1, frames: 12, height: 32, width: 32 });
  const folderClip = await data.get(2);
  assert.equal(folderClip.label, 1);
  for (let i = 0; i < 1024; i += 31)
    assert.ok(Math.abs(folderClip.pixels[1024 + i] - frames[1024 + i] / 255) < 1e-6);
  // UCF-101 style: classInd.txt fixes the class order, the split list the clips
  writeFileSync(join(root, 'classInd.txt'), '1 b\n2 a\n');
  writeFileSync(join(root, 'testlist01.txt'), 'a/y.mp4\nb/frames\na/missing.avi\n');
  const ucf = openDataset(root, { video: opts }) as VideoFolderDataset;
  assert.deepEqual(ucf.classes, ['b', 'a']);
  assert.deepEqual([ucf.size, ucf.split], [3, 'testlist01.txt']);
  assert.equal((await ucf.get(0)).label, 1);
  assert.equal((await ucf.get(1)).label, 0);
  await assert.rejects(
    ucf.get(2),
    (e: Error) => e instanceof InputError && e.message.includes('missing.avi'),
  );
  writeFileSync(join(root, 'testlist01.txt'), 'c/z.mp4\n');
  assert.throws(
    () => openDataset(root, { video: opts }),
    /testlist01.txt:1: c\/z.mp4 is not in a class of classInd.txt/,
  );
});

test('a folder without videos is a usage error', { skip }, () => {
  const empty = join(dir, 'empty');
  mkdirSync(join(empty, 'a'), { recursive: true });
  writeFileSync(join(empty, 'a', 'readme.txt'), 'x');
  assert.throws(
    () => openDataset(empty, { video: opts }),
    (e: Error) => e instanceof UsageError && /no videos/.test(e.message),
  );
});
