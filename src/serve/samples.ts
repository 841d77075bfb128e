/**
 * The bundled sample images the web page offers (data/fashion-mnist-sample, data/cifar10-sample),
 * read once at start-up for the data sets whose image shape some served model takes, and kept as
 * lossless PNG so that the page sees exactly the pixels the CLI reads.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { sameShape } from '../core/shape.js';
import { openDataset } from '../data/open.js';
import { packageRoot } from '../package-root.js';
import type { ServedModel } from './models.js';

/** What `GET /v1/samples` lists for one sample (the page reads this type too). */
export interface SampleInfo {
  set: string;
  index: number;
  label: number;
  className: string;
  /** ids of the served models that take this image */
  models: string[];
  url: string;
}

export interface Sample extends SampleInfo {
  png: Buffer;
}

const BUNDLED = [
  { set: 'fashion-mnist', path: 'data/fashion-mnist-sample', count: 12 },
  { set: 'cifar10', path: 'data/cifar10-sample', count: 20 },
];

export async function loadSamples(models: ServedModel[]): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (const { set, path, count } of BUNDLED) {
    // the npm package ships no data sets (only a clone of the repository has them)
    if (!existsSync(join(packageRoot, path))) continue;
    const data = openDataset(join(packageRoot, path));
    const users = models.filter((m) => sameShape(m.shape, data.shape));
    if (users.length === 0) continue;
    const { channels, height, width } = data.shape;
    const names = data.classes ?? users[0].card.classes;
    for (let index = 0; index < Math.min(count, data.size); index++) {
      const x = await data.get(index);
      const plane = height * width;
      const rgb = Buffer.alloc(plane * channels);
      for (let i = 0; i < plane; i++) {
        for (let c = 0; c < channels; c++) rgb[i * channels + c] = Math.round(x.pixels[c * plane + i] * 255);
      }
      const png = await sharp(rgb, { raw: { width, height, channels: channels as 1 | 3 } })
        .png()
        .toBuffer();
      samples.push({
        set,
        index,
        label: x.label,
        className: names[x.label] ?? String(x.label),
        models: users.map((m) => m.id),
        url: `/v1/samples/${set}/${index}.png`,
        png,
      });
    }
  }
  return samples;
}
