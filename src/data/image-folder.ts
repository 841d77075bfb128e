/**
 * An ImageNet-style folder of class folders of JPEG/PNG images, `root/<class>/<file>.jpg`, read as
 * torchvision's `ImageFolder` reads it: the classes are the sorted folder names (label = position),
 * the files of a class are sorted by name (files in nested folders too, after torchvision's sorted
 * `os.walk`), and an image's index is its position in that class-major order. Hidden class folders
 * (".ipynb_checkpoints") are skipped; other image formats are refused rather than skipped. A folder
 * holding `test/` (or `val/`) of class folders, such as the extracted CIFAR-10 JPEG tree, stands for
 * that folder.
 *
 * Images are decoded with sharp on `get()` (nothing is cached) to 8-bit RGB, alpha dropped and any
 * ICC profile ignored (as PIL's `convert('RGB')`); `channels: 1` then takes PIL's luma,
 * L = (19595 R + 38470 G + 7471 B + 2^15) >> 16. Options, as the ImageNet protocol's Resize(256) +
 * CenterCrop(224): `resize` scales the shorter side to S (the longer to floor(S * long / short)), with
 * sharp's antialiased linear kernel; `centerCrop` cuts C x C at torchvision's offsets. The shape is
 * known up front from the first image's header; an image that ends up another size is an error.
 */
import { closeSync, openSync, readSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import { UsageError } from '../core/errors.js';
import { formatShape, type Shape3 } from '../core/shape.js';
import type { Dataset, Input } from './dataset.js';
import { luma, rgbToPlanar } from './pixels.js';

export { luma, rgbToPlanar };

export interface ImageFolderOptions {
  /** scale the shorter side to this many pixels */
  resize?: number;
  /** then cut the central C x C square */
  centerCrop?: number;
  /** 3 (RGB, default) or 1 (luma) */
  channels?: 1 | 3;
}

/** The image files read (case-insensitive). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png'];
/** Other extensions torchvision's ImageFolder counts as images: refused, so no index silently shifts. */
const UNSUPPORTED_EXTENSIONS = ['.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp', '.gif'];

/** Names in code point order (as Python's `sorted`). */
function byCodePoint(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory(); // follows symbolic links, as torchvision does
  } catch {
    return false;
  }
}

/** The non-hidden subfolders of `dir`, sorted. */
function subfolders(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => !name.startsWith('.') && isDirectory(join(dir, name)))
    .sort(byCodePoint);
}

/** `dir/test` (or `dir/val`) when it is a folder of class folders, else `dir`. */
export function imageFolderRoot(dir: string): string {
  for (const split of ['test', 'val']) {
    const sub = join(dir, split);
    if (isDirectory(sub) && subfolders(sub).length > 0) return sub;
  }
  return dir;
}

/**
 * The image files of one class folder, in torchvision's order: folders by path, then names. A
 * symbolic link back to a folder already being walked (a loop) is refused: following it would read
 * the same images again under this class's label.
 */
function classFiles(dir: string): string[] {
  const folders: string[] = [];
  const walk = (d: string, above: string[]) => {
    const real = realpathSync(d);
    const loop = above.find((a) => real === a || a.startsWith(real + '/'));
    if (loop !== undefined) {
      throw new UsageError(`${d}: a symbolic link to ${real} loops back into the image folder; remove it`);
    }
    folders.push(d);
    for (const name of readdirSync(d)) if (isDirectory(join(d, name))) walk(join(d, name), [...above, real]);
  };
  walk(dir, []);
  const files: string[] = [];
  for (const folder of folders.sort(byCodePoint)) {
    const names = readdirSync(folder)
      .filter((name) => !isDirectory(join(folder, name)))
      .sort(byCodePoint);
    for (const name of names) {
      const ext = extname(name).toLowerCase();
      if (IMAGE_EXTENSIONS.includes(ext)) files.push(join(folder, name));
      else if (UNSUPPORTED_EXTENSIONS.includes(ext)) {
        throw new UsageError(
          `${join(folder, name)}: ${ext} images are not read (only JPEG and PNG); convert it`,
        );
      }
    }
  }
  return files;
}

/** Width and height from a PNG or JPEG header (read synchronously, without decoding). */
export function imageSize(file: string): { width: number; height: number } {
  let b: Buffer;
  try {
    b = readFileSync(file);
  } catch (e) {
    throw new UsageError(`${file}: cannot read (${(e as Error).message})`);
  }
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (b.length >= 24 && png.every((v, i) => b[i] === v) && b.toString('latin1', 12, 16) === 'IHDR') {
    return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2;
    while (i + 4 <= b.length) {
      if (b[i] !== 0xff) break;
      const marker = b[i + 1];
      if (marker === 0xff) {
        i++; // fill byte
        continue;
      }
      if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
        i += 2; // no length
        continue;
      }
      const length = b.readUInt16BE(i + 2);
      const sof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
      if (sof && i + 9 <= b.length) return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
      if (marker === 0xda || marker === 0xd9 || length < 2) break;
      i += 2 + length;
    }
    throw new UsageError(`${file}: corrupt JPEG (no frame header)`);
  }
  throw new UsageError(`${file}: not a JPEG or PNG image`);
}

/** largest image read, in pixels (sharp's own limit is 268 million) */
export const MAX_IMAGE_PIXELS = 2 ** 26;

/**
 * Checks an image file without decoding it: a PNG or JPEG header with a size of at most
 * MAX_IMAGE_PIXELS, and the format's end marker (PNG's IEND chunk, JPEG's EOI) near the end of the
 * file, which a truncated download or copy lacks. Returns the size.
 */
export function checkImageFile(file: string): { width: number; height: number } {
  const size = imageSize(file);
  if (size.width === 0 || size.height === 0 || size.width * size.height > MAX_IMAGE_PIXELS) {
    throw new UsageError(
      `${file}: ${size.width}x${size.height} image (between 1 and ${MAX_IMAGE_PIXELS} pixels are read)`,
    );
  }
  const tail = Buffer.alloc(1024);
  let length: number;
  try {
    const fd = openSync(file, 'r');
    try {
      const bytes = statSync(file).size;
      length = readSync(fd, tail, 0, Math.min(tail.length, bytes), Math.max(0, bytes - tail.length));
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw new UsageError(`${file}: cannot read (${firstLine(e)})`);
  }
  const end = tail.subarray(0, length);
  const png = end.lastIndexOf('IEND', undefined, 'latin1') >= 0;
  const jpeg = end.lastIndexOf(Buffer.from([0xff, 0xd9])) >= 0;
  if (!png && !jpeg) throw new UsageError(`${file}: truncated image (no end marker)`);
  return size;
}

/** torchvision's Resize(S): the shorter side becomes S, the longer int(S * long / short). */
export function resizedSize(width: number, height: number, size: number): { width: number; height: number } {
  if (width <= height) return { width: size, height: Math.floor((size * height) / width) };
  return { width: Math.floor((size * width) / height), height: size };
}

/** torchvision's CenterCrop offset: Python's round((size - crop) / 2), halves to even. */
export function centerCropOffset(size: number, crop: number): number {
  const x = (size - crop) / 2;
  const f = Math.floor(x);
  return x - f === 0.5 ? (f % 2 === 0 ? f : f + 1) : Math.round(x);
}

function checkSize(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
    throw new UsageError(`${name} must be a positive whole number of pixels, got ${value}`);
  }
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

/** Image files given one by one (`--data x.png y.jpg`): a label each, -1 where none is known. */
export interface ImageList {
  files: string[];
  labels: number[];
}

export class ImageFolderDataset implements Dataset {
  /** the folder of class folders (`dir/test` when `dir` holds one), or the file (list) */
  readonly root: string;
  /** the class folders (undefined for an image list: the model card names the classes) */
  readonly classes: string[] | undefined;
  readonly shape: Shape3;
  readonly size: number;
  private readonly files: string[] = [];
  private readonly labels: number[] = [];
  private readonly resize?: number;
  private readonly crop?: number;

  constructor(dir: string | ImageList, options: ImageFolderOptions = {}) {
    if (typeof dir === 'string' && !isDirectory(dir)) throw new UsageError(`no such folder: ${dir}`);
    checkSize('resize', options.resize);
    checkSize('centerCrop', options.centerCrop);
    const channels = options.channels ?? 3;
    if (channels !== 1 && channels !== 3) throw new UsageError(`channels must be 1 or 3, got ${channels}`);
    if (options.resize && options.centerCrop && options.centerCrop > options.resize) {
      throw new UsageError(
        `center crop ${options.centerCrop} is larger than the resized shorter side ${options.resize}`,
      );
    }
    this.resize = options.resize;
    this.crop = options.centerCrop;
    if (typeof dir !== 'string') {
      if (dir.files.length === 0) throw new UsageError('no image files given');
      this.root = dir.files.length === 1 ? dir.files[0] : `${dir.files.length} image files`;
      this.classes = undefined;
      this.files.push(...dir.files);
      this.labels.push(...dir.labels);
    } else {
      const root = imageFolderRoot(dir);
      const classes = subfolders(root);
      if (classes.length === 0) {
        throw new UsageError(`${root}: no class folders (expected ${join(root, '<class>', '<image>.jpg')})`);
      }
      classes.forEach((name, label) => {
        const files = classFiles(join(root, name));
        if (files.length === 0)
          throw new UsageError(`${join(root, name)}: class folder with no JPEG or PNG images`);
        for (const file of files) {
          this.files.push(file);
          this.labels.push(label);
        }
      });
      this.root = root;
      this.classes = classes;
    }
    this.size = this.files.length;
    const first = imageSize(this.files[0]);
    let { width, height } = this.resize ? resizedSize(first.width, first.height, this.resize) : first;
    if (this.crop) {
      if (width < this.crop || height < this.crop) {
        throw new UsageError(
          `${this.files[0]}: ${width}x${height} image is smaller than the ${this.crop}x${this.crop} center crop`,
        );
      }
      width = height = this.crop;
    }
    this.shape = { channels, height, width };
  }

  get description(): string {
    const steps = [this.resize && `resize ${this.resize}`, this.crop && `center crop ${this.crop}`].filter(
      Boolean,
    );
    const how = steps.length ? `, ${steps.join(', ')}` : '';
    if (this.classes === undefined)
      return `${this.size === 1 ? 'image' : 'images'} ${this.root} (${formatShape(this.shape)}${how})`;
    return `image folder ${this.root} (${this.size} images, ${this.classes.length} classes, ${formatShape(this.shape)}${how})`;
  }

  labelOf(index: number): number {
    return this.labels[index];
  }

  /** Header checks of the selected files (checkImageFile), and their sizes when no crop makes them equal. */
  check(indices: readonly number[]): void {
    for (const index of indices) {
      const file = this.files[index];
      const size = checkImageFile(file);
      const { width, height } = this.resize ? resizedSize(size.width, size.height, this.resize) : size;
      if (
        this.crop
          ? width < this.crop || height < this.crop
          : width !== this.shape.width || height !== this.shape.height
      ) {
        throw new UsageError(
          this.crop
            ? `${file}: ${width}x${height} image${this.resize ? ' after resize' : ''} is smaller than the ${this.crop}x${this.crop} center crop`
            : `${file}: ${width}x${height} image${this.resize ? ' after resize' : ''}, but the first (${this.files[0]}) is ${this.shape.width}x${this.shape.height}: give a center crop (and resize) to read images of several sizes`,
        );
      }
    }
  }

  /** The image file at `index`. */
  file(index: number): string {
    return this.files[index];
  }

  async get(index: number): Promise<Input> {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new UsageError(`${this.root}: no image ${index} (the folder holds ${this.size})`);
    }
    const file = this.files[index];
    let data: Buffer;
    let width: number;
    let height: number;
    try {
      ({ data, width, height } = await decodeRgb(file));
      if (this.resize) {
        const to = resizedSize(width, height, this.resize);
        if (to.width !== width || to.height !== height) {
          data = await sharp(data, { raw: { width, height, channels: 3 } })
            .resize({ width: to.width, height: to.height, fit: 'fill', kernel: 'linear' })
            .raw()
            .toBuffer();
          ({ width, height } = to);
        }
      }
    } catch (e) {
      throw new UsageError(`${file}: cannot decode image (${firstLine(e)})`);
    }
    let top = 0;
    let left = 0;
    if (this.crop) {
      if (width < this.crop || height < this.crop) {
        throw new UsageError(
          `${file}: ${width}x${height} image is smaller than the ${this.crop}x${this.crop} center crop`,
        );
      }
      top = centerCropOffset(height, this.crop);
      left = centerCropOffset(width, this.crop);
    } else if (width !== this.shape.width || height !== this.shape.height) {
      throw new UsageError(
        `${file}: ${width}x${height} image${this.resize ? ' after resize' : ''}, but the first (${this.files[0]}) is ${this.shape.width}x${this.shape.height}: give a center crop (and resize) to read images of several sizes`,
      );
    }
    const pixels = rgbToPlanar(data, width, this.shape, top, left);
    return { index, label: this.labels[index], pixels };
  }
}

/**
 * Decodes a PNG or JPEG (a file or its bytes) to 8-bit RGB as PIL's `convert('RGB')`: alpha dropped,
 * any ICC profile ignored. `maxPixels` refuses larger images before decoding them (sharp checks the
 * header), against decompression bombs.
 */
export async function decodeRgb(
  source: string | Buffer,
  maxPixels?: number,
): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(source, {
    failOn: 'truncated',
    ignoreIcc: true,
    ...(maxPixels ? { limitInputPixels: maxPixels } : {}),
  })
    .removeAlpha()
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const { width, height } = info;
  if (data.length !== width * height * 3)
    throw new Error(`decoded ${data.length} bytes for ${width}x${height} RGB`);
  return { data, width, height };
}
