/**
 * A video data set: a folder of class folders of clips, `root/<class>/<clip>.mp4` (any container
 * ffmpeg reads, see VIDEO_EXTENSIONS) or `root/<class>/<clip>/` frame folders of JPEG/PNG images.
 * Without split lists the classes are the sorted folder names and the clips of a class are sorted by
 * name (an index is a position in that class-major order). With UCF-101 style split lists in `root`
 * or `root/ucfTrainTestlist`, `classInd.txt` ("1 ApplyEyeMakeup", one class a line) fixes the
 * classes and their order and the split list (`testlist01.txt` unless `split` names another; lines
 * "Class/clip.avi [label]") fixes the clips and their order; a listed clip that is missing is an
 * input error at `get()`, as a corrupt one is.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../core/errors.js';
import { type Shape3, formatShape } from '../core/shape.js';
import type { Dataset, Input } from './dataset.js';
import { findFfmpeg } from './ffmpeg.js';
import {
  type ClipOptions,
  checkClipOptions,
  decodeVideo,
  frameFiles,
  isVideoFile,
  readFrameFolder,
} from './video.js';

export interface VideoFolderOptions extends ClipOptions {
  /** split list file name (default testlist01.txt when classInd.txt is present) */
  split?: string;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function sortedNames(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => !n.startsWith('.'))
    .sort();
}

/** The folder holding classInd.txt, if any. */
function splitListFolder(root: string): string | undefined {
  return [root, join(root, 'ucfTrainTestlist')].find((d) => existsSync(join(d, 'classInd.txt')));
}

/** True when `dir` looks like a video data set (split lists, or a class folder holding videos). */
export function looksLikeVideoFolder(dir: string): boolean {
  if (!isDirectory(dir)) return false;
  if (splitListFolder(dir)) return true;
  return sortedNames(dir).some(
    (c) => isDirectory(join(dir, c)) && readdirSync(join(dir, c)).some((f) => isVideoFile(f)),
  );
}

export class VideoFolderDataset implements Dataset {
  readonly classes: string[];
  readonly shape: Shape3;
  readonly size: number;
  /** the split list read, if any */
  readonly split?: string;
  private readonly clips: { path: string; label: number }[] = [];

  constructor(
    readonly root: string,
    private readonly options: VideoFolderOptions,
  ) {
    checkClipOptions(options);
    if (!isDirectory(root)) throw new UsageError(`no such folder: ${root}`);
    const lists = splitListFolder(root);
    if (lists) {
      this.classes = readClassIndex(join(lists, 'classInd.txt'));
      this.split = options.split ?? 'testlist01.txt';
      this.readSplit(join(lists, this.split));
    } else {
      if (options.split) throw new UsageError(`${root}: --split ${options.split} given but no classInd.txt`);
      this.classes = sortedNames(root).filter((c) => isDirectory(join(root, c)));
      this.classes.forEach((name, label) => {
        const dir = join(root, name);
        for (const clip of sortedNames(dir)) {
          const path = join(dir, clip);
          if (isVideoFile(clip) || (isDirectory(path) && frameFiles(path).length > 0))
            this.clips.push({ path, label });
        }
      });
    }
    if (this.clips.length === 0) {
      throw new UsageError(
        `${root}: no videos (expected ${join(root, '<class>', '<clip>.mp4')} files or frame folders, or classInd.txt + a split list)`,
      );
    }
    // a missing ffmpeg is a usage error now, not a skipped clip later
    if (this.clips.some((c) => isVideoFile(c.path))) findFfmpeg();
    this.size = this.clips.length;
    this.shape = {
      channels: options.channels,
      frames: options.frames,
      height: options.size,
      width: options.size,
    };
  }

  private readSplit(list: string): void {
    if (!existsSync(list)) throw new UsageError(`${list}: no such split list`);
    const byName = new Map(this.classes.map((c, i) => [c.toLowerCase(), i]));
    const lines = readFileSync(list, 'utf8').split(/\r?\n/);
    lines.forEach((line, n) => {
      const entry = line.trim().split(/\s+/)[0];
      if (!entry) return;
      const label = byName.get(entry.split('/')[0].toLowerCase());
      if (label === undefined) {
        throw new UsageError(`${list}:${n + 1}: ${entry} is not in a class of classInd.txt`);
      }
      this.clips.push({ path: join(this.root, entry), label });
    });
  }

  get description(): string {
    const o = this.options;
    const split = this.split ? `, split ${this.split}` : '';
    return `video folder ${this.root} (${this.size} clips, ${this.classes.length} classes${split}, ${formatShape(this.shape)} at ${o.fps} fps)`;
  }

  /** The clip (file or frame folder) at `index`. */
  file(index: number): string {
    return this.clips[index].path;
  }

  async get(index: number): Promise<Input> {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new UsageError(`${this.root}: no clip ${index} (the data set holds ${this.size})`);
    }
    const { path, label } = this.clips[index];
    const pixels = isDirectory(path)
      ? await readFrameFolder(path, this.options)
      : await decodeVideo(path, this.options);
    return { index, label, pixels };
  }
}

/** classInd.txt: "1 ApplyEyeMakeup" lines, numbered from 1, in any order. */
function readClassIndex(file: string): string[] {
  const classes: string[] = [];
  readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .forEach((line, n) => {
      if (!line.trim()) return;
      const m = /^\s*(\d+)\s+(\S+)\s*$/.exec(line);
      if (!m) throw new UsageError(`${file}:${n + 1}: expected "<number> <class>", got "${line.trim()}"`);
      const k = Number(m[1]) - 1;
      if (k < 0 || classes[k] !== undefined)
        throw new UsageError(`${file}:${n + 1}: class number ${m[1]} repeated or 0`);
      classes[k] = m[2];
    });
  if (classes.length < 2 || classes.some((c) => c === undefined)) {
    throw new UsageError(`${file}: expected classes numbered 1..K without gaps, K >= 2`);
  }
  return classes;
}
