/**
 * Time spent decoding video clips, apart from certification (the log's `time` column excludes it):
 * decodes every clip of a video data set as `certify` does and prints milliseconds per clip by
 * container.
 *
 *   node --import tsx scripts/video-decode-time.ts data/moving-fmnist [frames] [fps] [size]
 */
import { extname } from 'node:path';
import { VideoFolderDataset } from '../src/data/video-folder.js';

const [root = 'data/moving-fmnist', frames = '32', fps = '12', size = '32'] = process.argv.slice(2);
const data = new VideoFolderDataset(root, {
  frames: Number(frames),
  fps: Number(fps),
  size: Number(size),
  channels: 1,
  pad: false,
});
const times = new Map<string, number[]>();
for (let i = 0; i < data.size; i++) {
  const t = performance.now();
  await data.get(i);
  const ext = extname(data.file(i)) || 'frame folder';
  times.set(ext, [...(times.get(ext) ?? []), performance.now() - t]);
}
for (const [ext, ms] of times) {
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  console.log(`${ext}: ${ms.length} clips, ${mean.toFixed(1)} ms per clip`);
}
