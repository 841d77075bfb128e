/**
 * Opening an ONNX Runtime session (onnxruntime-node) for a model file or folder: the one place that
 * resolves the path, checks the thread count and turns ONNX Runtime's failures into one-line errors.
 * Classifiers and denoisers both open their graphs here, and both are identified by
 * ./model-identity.ts (the .onnx, its external data, its card).
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
// a namespace import: worker threads under tsx load this module through require(), where a default import is undefined
import * as ort from 'onnxruntime-node';
import { UsageError } from '../core/errors.js';
import { modelFile } from './model-identity.js';

export type Device = 'cpu' | 'cuda';

/** ONNX Runtime intra-op threads accepted (beyond this, ORT's thread pool fails to allocate) */
const MAX_THREADS = 1024;

export interface SessionOptions {
  device?: Device;
  /** ONNX Runtime intra-op threads (default: every core Node reports, `os.availableParallelism()`) */
  threads?: number;
}

/** The .onnx file of `modelPath` (a folder means its model.onnx), its bytes, and the checked thread count. */
export function readModel(
  modelPath: string,
  options: SessionOptions,
): { path: string; bytes: Buffer; threads: number } {
  const path = modelFile(modelPath);
  if (!existsSync(path)) throw new UsageError(`no such model: ${path}`);
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS)
    throw new UsageError(`--threads must be an integer in [1, ${MAX_THREADS}], got ${threads}`);
  return { path, bytes: readFileSync(path), threads };
}

/**
 * A session for the model at `path`, from its bytes, or from the path when the graph names external
 * data (ONNX Runtime then resolves it against the model's folder; from bytes it would use the
 * working directory).
 */
export async function createSession(
  path: string,
  bytes: Uint8Array,
  fromPath: boolean,
  threads: number,
  device: Device = 'cpu',
): Promise<ort.InferenceSession> {
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: [device],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    // ONNX Runtime's own log lines (multi-line, coloured) would precede our one-line message
    logSeverityLevel: 4,
  };
  try {
    return fromPath
      ? await ort.InferenceSession.create(path, sessionOptions)
      : await ort.InferenceSession.create(bytes, sessionOptions);
  } catch (e) {
    const why = firstLine((e as Error).message);
    if (device === 'cuda') {
      throw new UsageError(
        `cannot run ${path} on CUDA (${why}); install onnxruntime-node with its CUDA binaries (see README, GPU) or use --device cpu`,
      );
    }
    throw new UsageError(`cannot load ONNX model ${path}: ${why}`);
  }
}

export function firstLine(s: string): string {
  return s.split('\n')[0].trim();
}
