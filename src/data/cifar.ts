/**
 * The binary version of CIFAR-10 and CIFAR-100 (Krizhevsky 2009, https://www.cs.toronto.edu/~kriz/cifar.html):
 * fixed-size records of label byte(s) then 3072 pixel bytes, 1024 red, 1024 green, 1024 blue, each
 * plane 32x32 row-major: already the channel-planar C x H x W layout.
 * - CIFAR-10 (`cifar-10-batches-bin/`): 1 label byte; `data_batch_1..5.bin`, `test_batch.bin`, class
 *   names one a line in `batches.meta.txt`.
 * - CIFAR-100 (`cifar-100-binary/`): 2 label bytes (coarse, fine); `train.bin`, `test.bin`, class
 *   names in `fine_label_names.txt` and `coarse_label_names.txt`.
 * A whole file is read at once (the test files are 30 MB).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UsageError } from '../core/errors.js';
import type { Shape3 } from '../core/shape.js';
import type { Dataset, Input } from './dataset.js';

export type CifarVariant = 'cifar10' | 'cifar100';

export interface CifarOptions {
  /** CIFAR-10 or CIFAR-100; recognised from the file names and sizes when not given */
  variant?: CifarVariant;
  /** CIFAR-100: the 100 fine labels (default) or the 20 coarse superclasses */
  labels?: 'fine' | 'coarse';
}

/** The label order of CIFAR-10 (that of `batches.meta.txt`), used when that file is absent. */
export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

/** 3 x 32 x 32 pixel bytes per record */
export const CIFAR_PIXELS = 3 * 32 * 32;
const CIFAR_SHAPE: Shape3 = { channels: 3, height: 32, width: 32 };

const LABEL_BYTES: Record<CifarVariant, number> = { cifar10: 1, cifar100: 2 };
const NAME: Record<CifarVariant, string> = { cifar10: 'CIFAR-10', cifar100: 'CIFAR-100' };

/** Bytes per record: label byte(s) + 3072 pixel bytes. */
export function cifarRecordSize(variant: CifarVariant): number {
  return LABEL_BYTES[variant] + CIFAR_PIXELS;
}

/** The test file of an extracted CIFAR binary folder, if `dir` is one. */
export function cifarFolderFile(dir: string): string | undefined {
  for (const name of ['test_batch.bin', 'test.bin']) {
    const path = join(dir, name);
    if (existsSync(path) && statSync(path).isFile()) return path;
  }
  return undefined;
}

/** CIFAR-10 or CIFAR-100, from the file's name, its neighbours, then its size. */
function variantOf(path: string, bytes: number): CifarVariant {
  const name = basename(path);
  const dir = dirname(path);
  if (/^(data_batch_\d+|test_batch)\.bin$/.test(name) || existsSync(join(dir, 'batches.meta.txt'))) {
    return 'cifar10';
  }
  if (/^(train|test)\.bin$/.test(name) || existsSync(join(dir, 'fine_label_names.txt'))) return 'cifar100';
  const fits = (Object.keys(LABEL_BYTES) as CifarVariant[]).filter((v) => bytes % cifarRecordSize(v) === 0);
  if (fits.length === 1) return fits[0];
  if (fits.length === 0) {
    throw new UsageError(
      `${path}: ${bytes} bytes is not a whole number of CIFAR-10 (3073-byte) or CIFAR-100 (3074-byte) records: truncated, or not a CIFAR binary file`,
    );
  }
  throw new UsageError(
    `${path}: cannot tell CIFAR-10 from CIFAR-100 by its size; name it test_batch.bin or test.bin`,
  );
}

/** Class names, one a line (blank lines ignored), if the file exists; it must hold `count` names. */
function readClassNames(path: string, count: number): string[] | undefined {
  if (!existsSync(path)) return undefined;
  const names = readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length !== count) throw new UsageError(`${path}: ${names.length} class names, expected ${count}`);
  return names;
}

export class CifarDataset implements Dataset {
  readonly shape: Shape3 = CIFAR_SHAPE;
  readonly size: number;
  readonly classes?: string[];
  readonly variant: CifarVariant;
  private readonly bytes: Uint8Array;
  private readonly record: number;
  /** offset of the label byte within a record */
  private readonly labelOffset: number;

  /** `path`: a CIFAR binary file, or an extracted folder (its test file is read). */
  constructor(
    readonly path: string,
    options: CifarOptions = {},
  ) {
    if (!existsSync(path)) throw new UsageError(`no such file: ${path}`);
    if (statSync(path).isDirectory()) {
      const file = cifarFolderFile(path);
      if (!file)
        throw new UsageError(`${path}: no test_batch.bin (CIFAR-10) or test.bin (CIFAR-100) in this folder`);
      this.path = path = file;
    }
    const bytes = readFileSync(path);
    if (bytes.length === 0) throw new UsageError(`${path}: empty file`);
    const variant = options.variant ?? variantOf(path, bytes.length);
    const record = cifarRecordSize(variant);
    if (bytes.length % record !== 0) {
      throw new UsageError(
        `${path}: truncated ${NAME[variant]} file: ${bytes.length} bytes is ${Math.floor(bytes.length / record)} records of ${record} bytes plus ${bytes.length % record}`,
      );
    }
    if (options.labels && variant !== 'cifar100')
      throw new UsageError(`${path}: coarse/fine labels exist only in CIFAR-100`);
    const coarse = variant === 'cifar100' && options.labels === 'coarse';
    const classCount = variant === 'cifar10' ? 10 : coarse ? 20 : 100;
    this.variant = variant;
    this.bytes = bytes;
    this.record = record;
    this.labelOffset = variant === 'cifar100' && !coarse ? 1 : 0;
    this.size = bytes.length / record;
    for (let i = 0; i < this.size; i++) {
      const label = bytes[i * record + this.labelOffset];
      if (label >= classCount) {
        throw new UsageError(
          `${path}: record ${i} has label ${label} (${NAME[variant]} has ${classCount} classes): not a ${NAME[variant]} binary file`,
        );
      }
    }
    const dir = dirname(path);
    this.classes =
      variant === 'cifar10'
        ? (readClassNames(join(dir, 'batches.meta.txt'), 10) ?? CIFAR10_CLASSES)
        : readClassNames(join(dir, coarse ? 'coarse_label_names.txt' : 'fine_label_names.txt'), classCount);
  }

  get description(): string {
    return `${NAME[this.variant]} ${basename(this.path)} (${this.size} x 3x32x32)`;
  }

  labelOf(index: number): number {
    return this.bytes[index * this.record + this.labelOffset];
  }

  async get(index: number): Promise<Input> {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new UsageError(`${this.path}: no image ${index} (the file holds ${this.size})`);
    }
    const start = index * this.record;
    const src = this.bytes.subarray(start + LABEL_BYTES[this.variant], start + this.record);
    const pixels = new Float32Array(CIFAR_PIXELS);
    for (let i = 0; i < CIFAR_PIXELS; i++) pixels[i] = src[i] / 255;
    return { index, label: this.bytes[start + this.labelOffset], pixels };
  }
}
