/**
 * IDX files (MNIST, Fashion-MNIST; LeCun et al.): big-endian header, magic 0x0000 08 NN (unsigned
 * bytes, NN dimensions), then the dimension sizes, then the data. Gzip is detected by its magic.
 */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { UsageError } from '../core/errors.js';
import type { Dataset, Input } from './dataset.js';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

export function parseIdx(bytes: Uint8Array, where: string): IdxArray {
  let buf = bytes;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      buf = gunzipSync(bytes);
    } catch (e) {
      throw new UsageError(`${where}: truncated or corrupt gzip data (${(e as Error).message})`);
    }
  }
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) throw new UsageError(`${where}: not an IDX file`);
  if (buf[2] !== 0x08)
    throw new UsageError(
      `${where}: IDX element type 0x${buf[2].toString(16)} (only unsigned bytes are read)`,
    );
  const ndim = buf[3];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 4 + 4 * ndim) throw new UsageError(`${where}: truncated IDX header`);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * ndim;
  if (buf.length - start !== count) {
    throw new UsageError(
      `${where}: IDX header says ${count} values but the file holds ${buf.length - start}`,
    );
  }
  return { dims, data: buf.subarray(start) };
}

/** The labels file that goes with an images file: `...images-idx3-ubyte...` -> `...labels-idx1-ubyte...`. */
export function idxLabelsPath(imagesPath: string): string {
  return imagesPath.replace('images-idx3', 'labels-idx1').replace('images.idx3', 'labels.idx1');
}

export class IdxDataset implements Dataset {
  readonly shape;
  readonly size: number;
  private readonly images: Uint8Array;
  private readonly labels: Uint8Array;

  constructor(
    imagesPath: string,
    labelsPath = idxLabelsPath(imagesPath),
    readonly classes?: string[],
  ) {
    for (const p of [imagesPath, labelsPath]) if (!existsSync(p)) throw new UsageError(`no such file: ${p}`);
    if (labelsPath === imagesPath)
      throw new UsageError(`cannot tell the labels file of ${imagesPath}; pass --labels`);
    const images = parseIdx(readFileSync(imagesPath), imagesPath);
    const labels = parseIdx(readFileSync(labelsPath), labelsPath);
    if (images.dims.length !== 3)
      throw new UsageError(`${imagesPath}: expected N x H x W images, got ${images.dims.join('x')}`);
    if (images.dims[0] === 0 || images.dims[1] === 0 || images.dims[2] === 0)
      throw new UsageError(`${imagesPath}: ${images.dims.join(' x ')} images: nothing to certify`);
    if (labels.dims.length !== 1 || labels.dims[0] !== images.dims[0]) {
      throw new UsageError(`${labelsPath}: ${labels.dims[0]} labels for ${images.dims[0]} images`);
    }
    this.images = images.data;
    this.labels = labels.data;
    this.size = images.dims[0];
    this.shape = { channels: 1, height: images.dims[1], width: images.dims[2] };
  }

  get description(): string {
    return `IDX ${this.size} x ${this.shape.height}x${this.shape.width}`;
  }

  labelOf(index: number): number {
    return this.labels[index];
  }

  async get(index: number): Promise<Input> {
    const d = this.shape.height * this.shape.width;
    const pixels = new Float32Array(d);
    const src = this.images.subarray(index * d, index * d + d);
    for (let i = 0; i < d; i++) pixels[i] = src[i] / 255;
    return { index, label: this.labels[index], pixels };
  }
}
