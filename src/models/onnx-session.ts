/**
 * Opening an ONNX Runtime session (onnxruntime-node) for a model file or folder: the one place that
 * resolves the path, checks the thread count and turns ONNX Runtime's failures into one-line errors.
 * Classifiers and denoisers both open their graphs here.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
// a namespace import: worker threads under tsx load this module through require(), where a default import is undefined
import * as ort from 'onnxruntime-node';
import { UsageError } from '../core/errors.js';

export type Device = 'cpu' | 'cuda';

/** ONNX Runtime intra-op threads accepted (beyond this, ORT's thread pool fails to allocate) */
const MAX_THREADS = 1024;

export interface SessionOptions {
  device?: Device;
  /** ONNX Runtime intra-op threads (default: every core Node reports, `os.availableParallelism()`) */
  threads?: number;
}

export interface OpenedSession {
  session: ort.InferenceSession;
  /** the .onnx file */
  path: string;
  /** its sha256 */
  sha256: string;
}

/** `model.onnx` inside a folder, or the path itself. */
export function onnxPath(modelPath: string): string {
  return existsSync(modelPath) && statSync(modelPath).isDirectory()
    ? join(modelPath, 'model.onnx')
    : modelPath;
}

/** Opens the ONNX graph at `modelPath` (a file, or a folder holding model.onnx). */
export async function openSession(modelPath: string, options: SessionOptions = {}): Promise<OpenedSession> {
  const path = onnxPath(modelPath);
  if (!existsSync(path)) throw new UsageError(`no such model: ${path}`);
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS)
    throw new UsageError(`--threads must be an integer in [1, ${MAX_THREADS}], got ${threads}`);
  const bytes = readFileSync(path);
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: [options.device ?? 'cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    // ONNX Runtime's own log lines (multi-line, coloured) would precede our one-line message
    logSeverityLevel: 4,
  };
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, sessionOptions);
  } catch (e) {
    const why = firstLine((e as Error).message);
    if (options.device === 'cuda') {
      throw new UsageError(
        `cannot run ${path} on CUDA (${why}); install onnxruntime-node with its CUDA binaries (see README, GPU) or use --device cpu`,
      );
    }
    throw new UsageError(`cannot load ONNX model ${path}: ${why}`);
  }
  return { session, path, sha256: createHash('sha256').update(bytes).digest('hex') };
}

export function firstLine(s: string): string {
  return s.split('\n')[0].trim();
}
