/**
 * Opens a data set from what the user typed after --data: a path to a file or folder, whose format
 * is recognised from its name and contents:
 * - IDX (MNIST, Fashion-MNIST): a `*-images-idx3-ubyte[.gz]` file, or a folder holding one;
 * - CIFAR-10/100 binary: a `.bin` batch file, or the extracted `cifar-10-batches-bin` /
 *   `cifar-100-binary` folder (its test file), or the folder holding that one;
 * - a folder of class folders of JPEG/PNG images (or a folder holding `test/` or `val/` of them);
 * - with `video` options (the model takes clips): a folder of class folders of video files or frame
 *   folders, with or without UCF-101 split lists (video-folder.ts).
 * Archives are not read: the error says how to extract them.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { UsageError } from '../core/errors.js';
import type { DataTransform } from '../io/manifest.js';
import { CifarDataset, cifarFolderFile } from './cifar.js';
import { type Dataset, type Input, UNLABELLED } from './dataset.js';
import { IdxDataset } from './idx.js';
import { IMAGE_EXTENSIONS, ImageFolderDataset, luma } from './image-folder.js';
import { type VideoFolderOptions, VideoFolderDataset, looksLikeVideoFolder } from './video-folder.js';

export interface OpenOptions {
  /** explicit labels file (IDX) */
  labels?: string;
  /** image folders: scale the shorter side to this many pixels */
  resize?: number;
  /** image folders: then cut the central C x C square */
  centerCrop?: number;
  /** channels the model takes: grayscale data is repeated to 3, colour data taken to luma for 1 */
  channels?: 1 | 3;
  /** clips for a video model: frames, fps, size, channels, padding, split list */
  video?: VideoFolderOptions;
}

/**
 * The reader options for a run's data transform (as its manifest records it): clips, when the
 * transform names frames, in the channels the video model takes; images otherwise. One place, so
 * that a local run and a queue worker read the same inputs.
 */
export function readerOptions(
  transform: DataTransform,
  labels: string | undefined,
  model: { path: string; channels: number },
): OpenOptions {
  const { frames, fps, size } = transform;
  if (frames === undefined) {
    const { resize, centerCrop, channels } = transform;
    return { labels, resize, centerCrop, channels };
  }
  if (fps === undefined || size === undefined)
    throw new UsageError('a video data transform needs frames, fps and size');
  const channels = model.channels;
  if (channels !== 1 && channels !== 3)
    throw new UsageError(`${model.path}: video models take 1 (gray) or 3 (RGB) channels, not ${channels}`);
  return {
    video: { frames, fps, size, channels, pad: transform.padFrames ?? false, split: transform.split },
  };
}

const ARCHIVES: [RegExp, (file: string, dir: string) => string][] = [
  [/\.(tar\.gz|tgz)$/i, (f, d) => `tar -xzf ${f} -C ${d}`],
  [/\.(tar\.bz2|tbz2?)$/i, (f, d) => `tar -xjf ${f} -C ${d}`],
  [/\.(tar\.xz|txz)$/i, (f, d) => `tar -xJf ${f} -C ${d}`],
  [/\.tar$/i, (f, d) => `tar -xf ${f} -C ${d}`],
  [/\.zip$/i, (f, d) => `unzip -q ${f} -d ${d}`],
];

/** A path as one shell word. */
function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The error for an archive: the command that extracts it, and what to pass instead. */
function archiveError(file: string): UsageError | undefined {
  for (const [re, command] of ARCHIVES) {
    if (!re.test(file)) continue;
    const dir = basename(file).replace(re, '') || 'data';
    const f = shellWord(file);
    const d = shellWord(dir);
    return new UsageError(
      `${file} is an archive, which is not read directly; extract it first: mkdir -p ${d} && ${command(f, d)} (then pass --data ${d})`,
    );
  }
  return undefined;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Converts a data set's images to `channels`: 1 -> 3 repeats the plane, 3 -> 1 takes PIL's luma. */
function withChannels(data: Dataset, channels: 1 | 3): Dataset {
  const from = data.shape.channels;
  if (from === channels) return data;
  if (!((from === 1 && channels === 3) || (from === 3 && channels === 1))) {
    throw new UsageError(`${data.description}: cannot turn ${from} channels into ${channels}`);
  }
  const shape = { ...data.shape, channels };
  const plane = shape.height * shape.width;
  return {
    description: `${data.description} as ${channels === 1 ? 'grayscale' : '3 channels'}`,
    shape,
    size: data.size,
    classes: data.classes,
    labelOf: data.labelOf?.bind(data),
    check: data.check?.bind(data),
    async get(index: number): Promise<Input> {
      const input = await data.get(index);
      const src = input.pixels;
      const pixels = new Float32Array(channels * plane);
      if (channels === 3) for (let c = 0; c < 3; c++) pixels.set(src, c * plane);
      else {
        for (let i = 0; i < plane; i++) {
          const [r, g, b] = [src[i], src[plane + i], src[2 * plane + i]].map((v) => Math.round(v * 255));
          pixels[i] = luma(r, g, b) / 255;
        }
      }
      return { ...input, pixels };
    },
  };
}

function checkOptions(options: OpenOptions): void {
  for (const key of ['resize', 'centerCrop'] as const) {
    const v = options[key];
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) {
      throw new UsageError(`${key} must be a positive whole number of pixels, got ${v}`);
    }
  }
  if (options.channels !== undefined && options.channels !== 1 && options.channels !== 3) {
    throw new UsageError(`channels must be 1 or 3, got ${options.channels}`);
  }
}

/** Fixed-size formats: refuse image-folder options rather than ignore them. */
function fixedSize(data: Dataset, spec: string, options: OpenOptions): Dataset {
  if (options.resize !== undefined || options.centerCrop !== undefined) {
    throw new UsageError(`${spec}: resize and center crop apply to image folders only (${data.description})`);
  }
  return options.channels ? withChannels(data, options.channels) : data;
}

const EXPECTED =
  'expected IDX *-images-idx3-ubyte[.gz] files, CIFAR binary test_batch.bin / test.bin, or class folders of JPEG/PNG images';

function isImageFile(path: string): boolean {
  return IMAGE_EXTENSIONS.includes(extname(path).toLowerCase());
}

/**
 * Image files given one by one (`--data x.png [y.jpg ...]`), each with its label or -1 (none), in
 * the order given: input i is the i-th file, and draws noise stream i.
 */
export function openImageFiles(files: string[], labels: number[], options: OpenOptions = {}): Dataset {
  checkOptions(options);
  for (const f of files) {
    if (!existsSync(f)) throw new UsageError(`no such image file: ${f}`);
    if (isDirectory(f) || !isImageFile(f))
      throw new UsageError(`${f}: not an image file (with several --data paths, each is a JPEG or PNG file)`);
  }
  if (options.video)
    throw new UsageError('a video model reads a folder of class folders of videos, not image files');
  const { resize, centerCrop, channels } = options;
  return new ImageFolderDataset({ files, labels }, { resize, centerCrop, channels });
}

export function openDataset(spec: string, options: OpenOptions = {}): Dataset {
  checkOptions(options);
  if (!existsSync(spec)) throw new UsageError(`no such data set: ${spec}`);
  if (options.video) {
    if (!isDirectory(spec))
      throw new UsageError(
        `${spec}: a video model reads a folder of class folders of videos or frame folders`,
      );
    return new VideoFolderDataset(spec, options.video);
  }
  if (looksLikeVideoFolder(spec)) {
    throw new UsageError(
      `${spec} holds videos, but the model takes images (a video model's input is N x C x T x H x W)`,
    );
  }
  if (isDirectory(spec)) {
    const names = readdirSync(spec);
    const idx = names.find((f) => /images[-.]idx3/.test(f) && !f.startsWith('train'));
    if (idx) return fixedSize(new IdxDataset(join(spec, idx), options.labels), spec, options);
    if (cifarFolderFile(spec)) return fixedSize(new CifarDataset(spec), spec, options);
    for (const sub of ['cifar-10-batches-bin', 'cifar-100-binary']) {
      if (names.includes(sub) && isDirectory(join(spec, sub))) return openDataset(join(spec, sub), options);
    }
    if (names.some((f) => !f.startsWith('.') && isDirectory(join(spec, f)))) {
      return new ImageFolderDataset(spec, options);
    }
    const archived = names.map((f) => archiveError(join(spec, f))).find((e) => e !== undefined);
    if (archived) throw new UsageError(`${spec}: no data set, but an archive: ${archived.message}`);
    throw new UsageError(
      `${spec}: ${names.length === 0 ? 'empty folder' : 'no data set format recognised'} (${EXPECTED})`,
    );
  }
  const archive = archiveError(spec);
  if (archive) throw archive;
  if (isImageFile(spec)) return openImageFiles([spec], [UNLABELLED], options);
  if (/idx3/.test(spec)) return fixedSize(new IdxDataset(spec, options.labels), spec, options);
  if (/\.bin$/i.test(spec)) return fixedSize(new CifarDataset(spec), spec, options);
  throw new UsageError(`${spec}: no data set format recognised (${EXPECTED}; or JPEG/PNG image files)`);
}
