/**
 * The shipped video model and clips (moving Fashion-MNIST) for the CLI and queue tests: where they
 * are, why a test cannot run here (no ffmpeg, no model), and a folder of picked clips with a broken
 * file among them.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { findFfmpeg } from '../../src/data/ffmpeg.js';
import { REPO } from './cli.js';

export const VIDEO_MODEL = join(REPO, 'models', 'moving-fmnist-c3d-s050');
export const CLIPS = join(REPO, 'data', 'moving-fmnist');

/** Why the video tests cannot run here (printed once as a skip line), or false. */
export const videoMissing: string | false = (() => {
  try {
    findFfmpeg();
  } catch (e) {
    return (e as Error).message;
  }
  return existsSync(join(VIDEO_MODEL, 'model.onnx')) ? false : `no ${VIDEO_MODEL}`;
})();

/**
 * Copies the clips `picks` ("class/file") into `dest`, and writes `broken` ("class/file"), the
 * first 300 bytes of the first pick: a file no decoder reads.
 */
export function clipFolder(dest: string, picks: string[], broken: string): void {
  for (const p of [...picks, broken]) mkdirSync(dirname(join(dest, p)), { recursive: true });
  for (const p of picks) copyFileSync(join(CLIPS, p), join(dest, p));
  writeFileSync(join(dest, broken), readFileSync(join(CLIPS, picks[0])).subarray(0, 300));
}
