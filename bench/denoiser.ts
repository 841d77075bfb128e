/**
 * `npm run bench:denoiser`: what a denoiser costs (denoised smoothing, docs/denoised-smoothing.md).
 * Certifies a few CIFAR-10 images with the classifier alone and behind the denoiser, for plain RS and
 * Smooth-Mean with 9 patches (the denoiser runs once per noisy sample on the 36 x 36 resized image),
 * after a warm-up that settles the call size, and reports noisy samples per second, the ratio, and
 * the time one certificate takes at n = 10,000 and n = 100,000.
 *
 *   npm run bench:denoiser -- [--classifier DIR] [--denoiser DIR] [--images 3] [--n 2000] [--threads 2]
 *
 * A table on stdout, the measurements in bench/results/denoiser.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDataset } from '../src/data/open.js';
import type { Classifier } from '../src/models/classifier.js';
import { DenoisedClassifier } from '../src/models/denoiser.js';
import { OnnxClassifier } from '../src/models/onnx-classifier.js';
import { OnnxDenoiser } from '../src/models/onnx-denoiser.js';
import {
  type SmoothingOptions,
  SmoothedClassifier,
  defaultSmoothingOptions,
} from '../src/smoothed-classifier.js';
import { ROOT, backgroundCpu, machineInfo } from './common.js';

const { values: args } = parseArgs({
  options: {
    classifier: { type: 'string', default: join(ROOT, 'models', 'cifar10-cnn-clean') },
    denoiser: { type: 'string', default: join(ROOT, 'models', 'cifar10-dncnn-stab-s025') },
    data: { type: 'string', default: join(ROOT, 'data', 'cifar10-sample') },
    images: { type: 'string', default: '3' },
    n: { type: 'string', default: '2000' },
    threads: { type: 'string', default: '2' },
  },
});
const images = Number(args.images);
const n = Number(args.n);
const threads = Number(args.threads);

interface Row {
  config: string;
  denoiser: boolean;
  samplesPerSecond: number;
  classifierInputsPerSecond: number;
}

async function measure(f: Classifier, options: SmoothingOptions, pixels: Float32Array[]): Promise<number> {
  const shape = { channels: 3, height: 32, width: 32 };
  const warm = new SmoothedClassifier(f, shape, { ...options, n: 2000 });
  for (let i = 0; i < 50 && !warm.callSize.settled; i++) await warm.certify({ pixels: pixels[0], index: 0 });
  const g = new SmoothedClassifier(f, shape, options);
  const t = performance.now();
  for (const [i, x] of pixels.entries()) await g.certify({ pixels: x, index: i });
  const seconds = (performance.now() - t) / 1000;
  return (pixels.length * (options.n0 + options.n)) / seconds;
}

const classifier = await OnnxClassifier.load(args.classifier, { threads });
const denoiser = await OnnxDenoiser.load(args.denoiser, { threads, sigma: 0.25 });
const data = openDataset(args.data, {});
const pixels: Float32Array[] = [];
for (let i = 0; i < images; i++) pixels.push((await data.get(i)).pixels);
const background = await backgroundCpu();
const configs: [string, Partial<SmoothingOptions>, number][] = [
  ['RS', { method: 'rs' }, 1],
  ['Smooth-Mean 9 (36x36, stride 2)', { method: 'mean', resize: { height: 36, width: 36 }, stride: 2 }, 9],
];
const rows: Row[] = [];
for (const [name, o, copies] of configs) {
  const options = { ...defaultSmoothingOptions, ...o, sigma: 0.25, n0: 100, n, batch: 400 };
  for (const withDenoiser of [false, true]) {
    const f = withDenoiser ? new DenoisedClassifier(denoiser, classifier) : classifier;
    const rate = await measure(f, options, pixels);
    rows.push({
      config: name,
      denoiser: withDenoiser,
      samplesPerSecond: rate,
      classifierInputsPerSecond: rate * copies,
    });
    process.stderr.write(`${name}${withDenoiser ? ' + denoiser' : ''}: ${rate.toFixed(0)} samples/s\n`);
  }
}
await denoiser.dispose();
await classifier.dispose();

const lines = [
  `Denoiser cost: ${args.classifier} alone and behind ${args.denoiser}, ${images} images, n0 100, n ${n}, ${threads} ONNX Runtime threads; background CPU load ${background === null ? 'unknown' : background.toFixed(2)}`,
  '',
  '| configuration | denoiser | noisy samples/s | classifier inputs/s | vs. without | s per certificate at n = 10,000 | at n = 100,000 |',
  '|---|---|---|---|---|---|---|',
];
for (const r of rows) {
  const without = rows.find((x) => x.config === r.config && !x.denoiser)!;
  lines.push(
    `| ${r.config} | ${r.denoiser ? 'yes' : 'no'} | ${r.samplesPerSecond.toFixed(0)} | ${r.classifierInputsPerSecond.toFixed(0)} | ${(r.samplesPerSecond / without.samplesPerSecond).toFixed(2)} | ${(10_100 / r.samplesPerSecond).toFixed(1)} | ${(100_100 / r.samplesPerSecond).toFixed(0)} |`,
  );
}
process.stdout.write(lines.join('\n') + '\n');
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(
  join(ROOT, 'bench', 'results', 'denoiser.json'),
  JSON.stringify({ machine: machineInfo(), background, images, n, threads, rows, table: lines }, null, 2) +
    '\n',
);
