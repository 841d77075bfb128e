/**
 * Per-patch noisy accuracy of a base model, a control for Smooth-Reduce (issue 12): for every patch
 * position of a Smooth-Reduce configuration, how often the base classifier alone is right on that
 * patch of a noisy sample (noise on the resized image, as Smooth-Reduce's correlated mode draws it),
 * how often the mean of the patches' logits is, and how often the model is right on the noisy full
 * image (plain RS's base classifier). Two figures per model input: the rate over inputs x noisy
 * samples, and the fraction of inputs right on most of their samples with its 95 % Clopper-Pearson
 * interval over the inputs.
 *
 *   node --import tsx scripts/patch-accuracy.ts --model models/fmnist-cnn-s025 \
 *       --data data/fashion-mnist-sample --sigma 0.25 --resize 32 --stride 2 --skip 2 --samples 20
 */
import { parseArgs } from 'node:util';
import { clopperPearsonInterval } from '../src/analysis/statistics.js';
import { UsageError } from '../src/core/errors.js';
import { GaussianRng, noiseGrid } from '../src/core/rng.js';
import { shapeSize } from '../src/core/shape.js';
import { openDataset } from '../src/data/open.js';
import { OnnxClassifier } from '../src/models/onnx-classifier.js';
import { type ReduceOptions, createReducer } from '../src/reduce/reducer.js';

const { values: v } = parseArgs({
  options: {
    model: { type: 'string' },
    data: { type: 'string' },
    sigma: { type: 'string', default: '0.25' },
    resize: { type: 'string' },
    stride: { type: 'string', default: '2' },
    skip: { type: 'string', default: '1' },
    max: { type: 'string', default: '-1' },
    samples: { type: 'string', default: '20' },
    seed: { type: 'string', default: '0' },
  },
});

function positive(name: string, text: string | undefined, integer: boolean): number {
  const x = Number(text);
  if (!(x > 0) || (integer && !Number.isInteger(x)))
    throw new UsageError(`--${name} must be a positive number, got ${text}`);
  return x;
}

async function main(): Promise<void> {
  if (!v.model || !v.data || !v.resize) throw new UsageError('--model, --data and --resize are required');
  const sigma = positive('sigma', v.sigma, false);
  const size = positive('resize', v.resize, true);
  const samples = positive('samples', v.samples, true);
  const skip = positive('skip', v.skip, true);
  const seed = Number(v.seed);
  const classifier = await OnnxClassifier.load(v.model);
  const data = openDataset(v.data);
  const base: Omit<ReduceOptions, 'method'> = {
    resize: { height: size, width: size },
    resizeMode: 'bilinear',
    stride: positive('stride', v.stride, true),
    randomPatches: false,
    noise: 'correlated',
    aggregate: 'logits',
  };
  const patches = createReducer({ ...base, method: 'mean' }, data.shape, classifier);
  const full = createReducer({ ...base, method: 'rs' }, data.shape, classifier);
  const grid = noiseGrid(classifier.pixelRange, sigma);
  const classes = classifier.numClasses;
  const modelSize = shapeSize(classifier.inputShape);
  const last = Number(v.max) < 0 ? data.size : Math.min(data.size, Number(v.max));

  let positions: { top: number; left: number }[] = [];
  let right: number[] = []; // per row: patches..., mean vote, full image
  let majority: number[] = [];
  let inputs = 0;
  for (let index = 0; index < last; index += skip) {
    const x = await data.get(index);
    const plan = patches.prepare(x.pixels, index);
    const k = plan.copies;
    if (positions.length === 0) {
      positions = plan.positions;
      right = new Array(k + 2).fill(0);
      majority = new Array(k + 2).fill(0);
    }
    const dim = plan.center.length;
    const noise = new Float32Array(samples * dim);
    new GaussianRng(seed, index).fillNoisy(noise, 0, plan.center, sigma, grid, samples);
    const batch = new Float32Array(samples * k * modelSize);
    for (let s = 0; s < samples; s++) plan.gather.apply(noise, s * dim, batch, s * k * modelSize);
    const logits = await classifier.run(batch, samples * k);
    const fullPlan = full.prepare(x.pixels, index);
    const fullBatch = new Float32Array(samples * modelSize);
    new GaussianRng(seed, index).fillNoisy(fullBatch, 0, fullPlan.center, sigma, grid, samples);
    const fullLogits = await classifier.run(fullBatch, samples);
    const hits = new Array(k + 2).fill(0);
    const mean = new Float64Array(classes);
    for (let s = 0; s < samples; s++) {
      mean.fill(0);
      for (let p = 0; p < k; p++) {
        const row = logits.subarray((s * k + p) * classes, (s * k + p + 1) * classes);
        if (argmax(row) === x.label) hits[p]++;
        for (let c = 0; c < classes; c++) mean[c] += row[c];
      }
      if (argmax(mean) === x.label) hits[k]++;
      if (argmax(fullLogits.subarray(s * classes, (s + 1) * classes)) === x.label) hits[k + 1]++;
    }
    hits.forEach((h, i) => {
      right[i] += h;
      if (2 * h > samples) majority[i]++;
    });
    inputs++;
  }
  const names = [
    ...positions.map((p) => `patch at (${p.top}, ${p.left})`),
    `mean of the ${positions.length} patches' logits`,
    'full image (RS)',
  ];
  console.log(
    `${data.description}: ${inputs} inputs x ${samples} noisy samples, sigma ${sigma} on the ${size}x${size} resized image (patches) or the input (full image)\n`,
  );
  console.log('| model input | right per noisy sample | inputs right on most samples [95 %] |');
  console.log('| :-- | --: | :-- |');
  names.forEach((name, i) => {
    const ci = clopperPearsonInterval(majority[i], inputs);
    console.log(
      `| ${name} | ${(right[i] / (inputs * samples)).toFixed(3)} | ${(majority[i] / inputs).toFixed(3)} [${ci.low.toFixed(3)}, ${ci.high.toFixed(3)}] |`,
    );
  });
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let c = 1; c < row.length; c++) if (row[c] > row[best]) best = c;
  return best;
}

main().catch((e: unknown) => {
  console.error(`patch-accuracy: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(e instanceof UsageError ? 2 : 1);
});
