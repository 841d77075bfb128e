/**
 * Opens a data set from what the user typed after --data: a path to a file or folder, whose format
 * is recognised from its name and contents.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../core/errors.js';
import type { Dataset } from './dataset.js';
import { IdxDataset } from './idx.js';

export interface OpenOptions {
  /** explicit labels file (IDX) */
  labels?: string;
}

export function openDataset(spec: string, options: OpenOptions = {}): Dataset {
  if (!existsSync(spec)) throw new UsageError(`no such data set: ${spec}`);
  if (statSync(spec).isDirectory()) {
    const idx = readdirSync(spec).find((f) => /images[-.]idx3/.test(f) && !f.startsWith('train'));
    if (idx) return new IdxDataset(join(spec, idx), options.labels);
    throw new UsageError(`${spec}: no data set format recognised (expected IDX *-images-idx3-ubyte[.gz] files)`);
  }
  if (/idx3/.test(spec)) return new IdxDataset(spec, options.labels);
  throw new UsageError(`${spec}: no data set format recognised (expected an IDX *-images-idx3-ubyte[.gz] file)`);
}
