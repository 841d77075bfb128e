/**
 * A certification worker thread of the server's pool (piscina): one certify or predict call per
 * task, on models it loads once and keeps. onnxruntime-node computes on the calling thread, so the
 * HTTP thread never runs a model. A task is cancelled through a shared flag the server sets when the
 * client goes away or the request times out; the worker looks at it after every chunk of samples.
 */
import type { Shape3 } from '../core/shape.js';
import { UsageError } from '../core/errors.js';
import type { Classifier } from '../models/classifier.js';
import { DenoisedClassifier } from '../models/denoiser.js';
import { OnnxClassifier } from '../models/onnx-classifier.js';
import { OnnxDenoiser } from '../models/onnx-denoiser.js';
import {
  type CertifyResult,
  type PredictResult,
  type SmoothingOptions,
  SmoothedClassifier,
} from '../smoothed-classifier.js';

export interface WorkerTask {
  command: 'certify' | 'predict';
  /** a model path from the server's own list, never from a request */
  modelPath: string;
  /** denoised smoothing: a denoiser path from the server's own list, or null */
  denoiserPath: string | null;
  /** ONNX Runtime intra-op threads */
  threads: number;
  shape: Shape3;
  pixels: Float32Array;
  index: number;
  options: SmoothingOptions;
  /** Int32Array over a SharedArrayBuffer: [0] becomes 1 when the task must stop */
  cancel: Int32Array;
}

export type WorkerResult =
  | { kind: 'certify'; result: CertifyResult; seconds: number; smoothingSpace: string }
  | { kind: 'predict'; result: PredictResult; seconds: number }
  | { kind: 'cancelled' }
  | { kind: 'usage'; message: string };

const classifiers = new Map<string, Promise<OnnxClassifier>>();
/** smoothed classifiers by model and options (each holds its reducer and buffers), least recent first */
const smoothed = new Map<string, SmoothedClassifier>();
const MAX_SMOOTHED = 16;

function classifier(path: string, threads: number): Promise<OnnxClassifier> {
  let c = classifiers.get(path);
  if (!c) {
    c = OnnxClassifier.load(path, { threads });
    classifiers.set(path, c);
  }
  return c;
}

/** denoisers by path and sigma (a diffusion denoiser's timestep depends on sigma) */
const denoisers = new Map<string, Promise<OnnxDenoiser>>();

function denoiser(path: string, sigma: number, threads: number): Promise<OnnxDenoiser> {
  const key = JSON.stringify([path, sigma]);
  let d = denoisers.get(key);
  if (!d) {
    d = OnnxDenoiser.load(path, { sigma, threads });
    denoisers.set(key, d);
  }
  return d;
}

/** The base classifier of a task: the model, behind its denoiser when the task names one. */
async function baseClassifier(task: WorkerTask): Promise<Classifier> {
  const f = await classifier(task.modelPath, task.threads);
  if (task.denoiserPath === null) return f;
  return new DenoisedClassifier(await denoiser(task.denoiserPath, task.options.sigma, task.threads), f);
}

async function smoothedClassifier(task: WorkerTask): Promise<SmoothedClassifier> {
  const key = JSON.stringify([task.modelPath, task.denoiserPath, task.shape, task.options]);
  const hit = smoothed.get(key);
  if (hit) {
    smoothed.delete(key);
    smoothed.set(key, hit);
    return hit;
  }
  const g = new SmoothedClassifier(await baseClassifier(task), task.shape, task.options);
  smoothed.set(key, g);
  if (smoothed.size > MAX_SMOOTHED) smoothed.delete(smoothed.keys().next().value!);
  return g;
}

export default async function run(task: WorkerTask): Promise<WorkerResult> {
  if (Atomics.load(task.cancel, 0) !== 0) return { kind: 'cancelled' };
  const controller = new AbortController();
  const hooks = {
    signal: controller.signal,
    onProgress: () => {
      if (Atomics.load(task.cancel, 0) !== 0) controller.abort();
    },
  };
  try {
    const g = await smoothedClassifier(task);
    const input = { pixels: task.pixels, index: task.index };
    const t0 = performance.now();
    if (task.command === 'certify') {
      const result = await g.certify(input, hooks);
      return {
        kind: 'certify',
        result,
        seconds: (performance.now() - t0) / 1000,
        smoothingSpace: g.reducer.geometry.smoothingSpace,
      };
    }
    const result = await g.predict(input, hooks);
    return { kind: 'predict', result, seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    if (controller.signal.aborted) return { kind: 'cancelled' };
    if (e instanceof UsageError) return { kind: 'usage', message: e.message };
    throw e;
  }
}
