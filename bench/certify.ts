/** Bench phases 2 and 3: certify throughput of the library, and the same certifications by PyTorch. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ConfigSpec,
  type Library,
  type ModelSpec,
  ROOT,
  lastJsonLine,
  log,
  modelDir,
  runChild,
  smoothingOptions,
} from './common.js';
import { shapeSize } from '../src/core/shape.js';
import type { Options } from './options.js';
import type { CertifyInputResult, ReferenceResult } from './results.js';

type OnnxClassifier = Awaited<ReturnType<Library['onnx']['OnnxClassifier']['load']>>;
type Classifier = import('../src/models/classifier.js').Classifier;

/**
 * A base classifier that costs (almost) nothing: it answers like onnxruntime-node (on a later turn of
 * the event loop, with a freshly allocated output) without computing. Certifying with it measures
 * the library's own time: noise, gather, votes, statistics.
 */
export class NullClassifier implements Classifier {
  readonly inputShape: Classifier['inputShape'];
  readonly numClasses: number;
  constructor(like: Classifier) {
    this.inputShape = like.inputShape;
    this.numClasses = like.numClasses;
  }
  async run(_batch: Float32Array, count: number): Promise<Float32Array> {
    await new Promise((resolve) => setImmediate(resolve));
    const out = new Float32Array(count * this.numClasses);
    for (let i = 0; i < count; i++) out[i * this.numClasses + (i % this.numClasses)] = 1;
    return out;
  }
}
export interface Input {
  index: number;
  label: number;
  pixels: Float32Array;
}

export async function certifyInputs(
  lib: Library,
  o: Options,
  classifier: Classifier,
  dataShape: { channels: number; height: number; width: number },
  model: ModelSpec,
  config: ConfigSpec,
  inputs: Input[],
  n0: number,
  n: number,
  batch = o.batch,
  pairRaw = false,
): Promise<{
  seconds: number;
  callInputs: number;
  results: CertifyInputResult[];
  pairedRatio: number | null;
}> {
  const settings = { n0, n, alpha: o.alpha, batch, seed: o.seed };
  // warm-up until the call size is measured (the sizer is shared by every SmoothedClassifier of
  // this classifier and geometry), so that ORT's arena and the JIT are ready
  const warm = new lib.smoothed.SmoothedClassifier(
    classifier,
    dataShape,
    smoothingOptions(lib, model, config, { ...settings, n: Math.max(n0, Math.min(n, 2000)) }),
  );
  for (let i = 0; i < 50 && !warm.callSize.settled; i++)
    await warm.certify({ pixels: inputs[0].pixels, index: inputs[0].index });
  const g = new lib.smoothed.SmoothedClassifier(
    classifier,
    dataShape,
    smoothingOptions(lib, model, config, settings),
  );
  const results: CertifyInputResult[] = [];
  const ratios: number[] = [];
  let seconds = 0;
  for (const x of inputs) {
    const start = performance.now();
    const r = await g.certify({ pixels: x.pixels, index: x.index });
    const dt = (performance.now() - start) / 1000;
    seconds += dt;
    if (pairRaw) {
      const forwards = (n0 + n) * config.k;
      ratios.push(forwards / dt / (await rawRate(classifier, g.callSize.inputs, dt)));
    }
    results.push({
      index: x.index,
      label: x.label,
      prediction: r.prediction,
      radius: r.radius,
      radiusSmoothing: r.radiusSmoothing,
      pALower: r.pALower,
      nA: r.nA,
      seconds: dt,
    });
  }
  ratios.sort((a, b) => a - b);
  const pairedRatio = ratios.length > 0 ? ratios[Math.floor(ratios.length / 2)] : null;
  return { seconds, callInputs: g.callSize.inputs, results, pairedRatio };
}

/**
 * The classifier's raw forward passes/s in calls of `callInputs` inputs, measured over about
 * `seconds` right after a certification: paired with it, so that a machine whose speed drifts
 * (other processes, a shared host) moves both sides of the ratio alike.
 */
async function rawRate(classifier: Classifier, callInputs: number, seconds: number): Promise<number> {
  const size = shapeSize(classifier.inputShape);
  const batch = new Float32Array(callInputs * size);
  for (let i = 0; i < batch.length; i++) batch[i] = Math.random();
  let runs = 0;
  const start = performance.now();
  let elapsed = 0;
  while (runs < 2 || elapsed < seconds * 1000) {
    await classifier.run(batch, callInputs);
    runs++;
    elapsed = performance.now() - start;
  }
  return (runs * callInputs) / (elapsed / 1000);
}

export async function reference(
  lib: Library,
  o: Options,
  classifier: OnnxClassifier,
  dataShape: { channels: number; height: number; width: number },
  model: ModelSpec,
  inputs: Input[],
  resize: number[],
): Promise<ReferenceResult> {
  const dir = mkdtempSync(join(tmpdir(), 'smooth-reduce-bench-'));
  try {
    const size = dataShape.channels * dataShape.height * dataShape.width;
    const stacked = new Float32Array(inputs.length * size);
    inputs.forEach((x, i) => stacked.set(x.pixels, i * size));
    writeFileSync(join(dir, 'inputs.f32'), Buffer.from(stacked.buffer));
    // ORT logits on the clean inputs and on one noisy copy of each, for the PyTorch model to match
    const rng = new lib.rng.GaussianRng(o.seed + 1, 0);
    const checks = new Float32Array(2 * stacked.length);
    checks.set(stacked);
    for (let i = 0; i < stacked.length; i++)
      checks[stacked.length + i] = stacked[i] + model.sigma * rng.nextGaussian();
    const logits = await classifier.run(Float32Array.from(checks), 2 * inputs.length);
    writeFileSync(join(dir, 'checks.f32'), Buffer.from(checks.buffer));
    writeFileSync(join(dir, 'logits.f32'), Buffer.from(Float32Array.from(logits).buffer));
    // the library's resized images (the smoothing-space centres of the patch configurations)
    let noiseScale: number | null = null;
    const patchConfig = o.refConfigs.find((c) => c.method !== 'rs');
    if (patchConfig) {
      const g = new lib.smoothed.SmoothedClassifier(
        classifier,
        dataShape,
        smoothingOptions(lib, model, patchConfig, {
          n0: 1,
          n: 1,
          alpha: o.alpha,
          batch: o.batch,
          seed: o.seed,
        }),
      );
      const centers = inputs.map((x) => g.reducer.prepare(x.pixels, x.index));
      noiseScale = centers[0].noiseScale;
      const flat = new Float32Array(centers.reduce((a, p) => a + p.center.length, 0));
      let off = 0;
      for (const p of centers) {
        flat.set(p.center, off);
        off += p.center.length;
      }
      writeFileSync(join(dir, 'centers.f32'), Buffer.from(flat.buffer));
    }

    // the library
    const node = new Map<string, { seconds: number; results: CertifyInputResult[] }>();
    for (const c of o.refConfigs) {
      const r = await certifyInputs(lib, o, classifier, dataShape, model, c, inputs, o.n0, o.refN);
      node.set(c.name, r);
      log(
        `${model.key} reference, library ${c.name}: ${r.seconds.toFixed(2)} s for ${inputs.length} input(s)`,
      );
    }

    // PyTorch
    const spec = {
      model: join(modelDir(model), 'model.onnx'),
      arch: model.arch,
      inputs: join(dir, 'inputs.f32'),
      shape: [dataShape.channels, dataShape.height, dataShape.width],
      resize: resize.slice(1),
      indices: inputs.map((x) => x.index),
      labels: inputs.map((x) => x.label),
      numClasses: classifier.numClasses,
      sigma: model.sigma,
      n0: o.n0,
      n: o.refN,
      alpha: o.alpha,
      batch: o.batch,
      threads: o.threads,
      seed: o.seed,
      configs: o.refConfigs.map((c) => ({ name: c.name, method: c.method, stride: c.stride, k: c.k })),
      checks: { inputs: join(dir, 'checks.f32'), logits: join(dir, 'logits.f32') },
      centers: patchConfig ? join(dir, 'centers.f32') : null,
    };
    writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
    log(`${model.key} reference: PyTorch (${o.python} bench/reference_smooth.py) ...`);
    const res = await runChild(
      o.python!,
      [join(ROOT, 'bench', 'reference_smooth.py'), join(dir, 'spec.json')],
      'python',
    );
    if (res.code !== 0) throw new Error(`bench/reference_smooth.py failed (exit ${res.code ?? res.signal})`);
    const py = lastJsonLine<
      ReferenceResult['python'] & {
        configs: {
          config: string;
          seconds: number;
          modelSeconds: number;
          results: ReferenceResult['configs'][number]['python'];
        }[];
      }
    >(res.stdout, 'python');

    const configs = o.refConfigs.map((c) => {
      const a = node.get(c.name)!;
      const b = py.configs.find((x) => x.config === c.name)!;
      const same = a.results.filter((r, i) => r.prediction === b.results[i].prediction).length;
      const mean = (f: (i: number) => number) =>
        a.results.reduce((s, _, i) => s + f(i), 0) / a.results.length;
      return {
        config: c.name,
        k: c.k,
        nodeSeconds: a.seconds,
        pythonSeconds: b.seconds,
        pythonModelSeconds: b.modelSeconds,
        speedup: b.seconds / a.seconds,
        identicalPredictions: same,
        meanAbsRadiusDiff: mean((i) => Math.abs(a.results[i].radius - b.results[i].radius)),
        meanAbsRadiusSmoothingDiff: mean((i) =>
          Math.abs(a.results[i].radiusSmoothing - b.results[i].radiusSmoothing),
        ),
        node: a.results,
        python: b.results,
      };
    });
    const nodeSeconds = configs.reduce((s, c) => s + c.nodeSeconds, 0);
    const pythonSeconds = configs.reduce((s, c) => s + c.pythonSeconds, 0);
    const pyInfo: Partial<typeof py> = { ...py };
    delete pyInfo.configs;
    return {
      n0: o.n0,
      n: o.refN,
      inputs: inputs.length,
      python: pyInfo as ReferenceResult['python'],
      libraryNoiseScale: noiseScale,
      nodeSeconds,
      pythonSeconds,
      speedup: pythonSeconds / nodeSeconds,
      configs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
