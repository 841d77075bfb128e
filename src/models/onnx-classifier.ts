/**
 * A Classifier backed by ONNX Runtime (onnxruntime-node), with its model card.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
// a namespace import: worker threads under tsx load this module through require(), where a default import is undefined
import * as ort from 'onnxruntime-node';
import { UsageError } from '../core/errors.js';
import { type Shape3, formatShape } from '../core/shape.js';
import type { Classifier } from './classifier.js';
import {
  type ModelCard,
  MODEL_CARD_FORMAT,
  MODEL_CARD_VERSION,
  cardShape,
  readModelCard,
} from './model-card.js';

export type Device = 'cpu' | 'cuda';

/** ONNX Runtime intra-op threads accepted (beyond this, ORT's thread pool fails to allocate) */
const MAX_THREADS = 1024;
/** inputs in the forward pass that checks a model at load */
const PROBE_BATCH = 3;

export interface LoadOptions {
  /** explicit model card path; default: model.json beside the .onnx file */
  card?: string;
  device?: Device;
  /** ONNX Runtime intra-op threads (default: every core Node reports, `os.availableParallelism()`) */
  threads?: number;
}

export class OnnxClassifier implements Classifier {
  readonly inputShape: Shape3;
  readonly numClasses: number;
  readonly pixelRange: readonly [number, number];
  private readonly inputName: string;
  private readonly outputName: string;
  private readonly scale?: { mul: Float32Array; add: Float32Array };

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly card: ModelCard,
    /** the .onnx file, and its sha256 (for manifests) */
    readonly path: string,
    readonly sha256: string,
  ) {
    this.inputShape = cardShape(card);
    this.numClasses = card.classes.length;
    this.pixelRange = card.input.pixelRange;
    this.inputName = session.inputNames[0];
    this.outputName = session.outputNames[0];
    const norm = card.input.normalization;
    if (norm) {
      // (x - mean) / std as x * mul + add, per channel
      this.scale = {
        mul: Float32Array.from(norm.std, (s) => 1 / s),
        add: Float32Array.from(norm.mean, (m, c) => -m / norm.std[c]),
      };
    }
  }

  /**
   * Loads `model.onnx` (or a folder holding it) and its card, and checks that they agree. Without a
   * card the input shape comes from the graph, class names are "0".."C-1", pixels are taken to be in
   * [0, 1] and any normalisation to be inside the graph.
   */
  static async load(modelPath: string, options: LoadOptions = {}): Promise<OnnxClassifier> {
    const path =
      existsSync(modelPath) && statSync(modelPath).isDirectory() ? join(modelPath, 'model.onnx') : modelPath;
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
    for (const [what, names] of [
      ['inputs', session.inputNames],
      ['outputs', session.outputNames],
    ] as const) {
      if (names.length !== 1) {
        await session.release();
        throw new UsageError(
          `${path}: the graph has ${names.length} ${what} (${names.join(', ')}); smooth-reduce needs one image input [N, C, H, W] and one logits output [N, classes]`,
        );
      }
    }
    const cardPath = options.card ?? join(dirname(path), 'model.json');
    const card = existsSync(cardPath) ? readModelCard(cardPath) : await inferCard(session, path);
    const classifier = new OnnxClassifier(
      session,
      card,
      path,
      createHash('sha256').update(bytes).digest('hex'),
    );
    await classifier.check();
    return classifier;
  }

  async run(batch: Float32Array, count: number): Promise<Float32Array> {
    const { channels, height, width } = this.inputShape;
    const plane = height * width;
    const size = channels * plane;
    const data = batch.subarray(0, count * size);
    if (this.scale) {
      const { mul, add } = this.scale;
      for (let s = 0; s < count; s++) {
        for (let c = 0; c < channels; c++) {
          const base = s * size + c * plane;
          for (let i = 0; i < plane; i++) data[base + i] = data[base + i] * mul[c] + add[c];
        }
      }
    }
    const input = new ort.Tensor('float32', data, [count, channels, height, width]);
    const out = await this.session.run({ [this.inputName]: input }, [this.outputName]);
    const logits = out[this.outputName];
    if (
      logits.type !== 'float32' ||
      logits.dims.length !== 2 ||
      logits.data.length !== count * this.numClasses
    ) {
      throw new UsageError(
        `${this.path}: output "${this.outputName}" is ${logits.type} [${logits.dims.join(', ')}] for ${count} inputs, ` +
          `expected ${count} x ${this.numClasses} float32 (classes in the model card)`,
      );
    }
    return logits.data as Float32Array;
  }

  memoryInUse(): number {
    return process.memoryUsage.rss();
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }

  /** Checks the card against the graph with one forward pass of two inputs (a clear error before sampling). */
  private async check(): Promise<void> {
    const meta = this.session.inputMetadata[0];
    if (meta?.isTensor && meta.shape.length > 0) {
      const dims = meta.shape.slice(1);
      const expected = [this.inputShape.channels, this.inputShape.height, this.inputShape.width];
      const clash =
        meta.shape.length !== 4 || dims.some((d, i) => typeof d === 'number' && d !== expected[i]);
      if (clash) {
        throw new UsageError(
          `${this.path}: the graph input is [${meta.shape.join(', ')}] but the model card says N x ${formatShape(this.inputShape)}`,
        );
      }
      if (typeof meta.shape[0] === 'number' && meta.shape[0] !== -1) {
        throw new UsageError(
          `${this.path}: the graph has a fixed batch size ${meta.shape[0]}; export it with a dynamic batch axis`,
        );
      }
    }
    const size = this.inputShape.channels * this.inputShape.height * this.inputShape.width;
    try {
      // three inputs: a graph that hard-codes a batch of 1 or 2 somewhere inside fails here
      const out = await this.run(new Float32Array(PROBE_BATCH * size).fill(0.5), PROBE_BATCH);
      if (!out.every(Number.isFinite))
        throw new UsageError(
          `${this.path}: the model returns non-finite scores (NaN or infinite) on a plain grey input`,
        );
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(`${this.path}: a test forward pass failed: ${firstLine((e as Error).message)}`);
    }
  }
}

async function inferCard(session: ort.InferenceSession, path: string): Promise<ModelCard> {
  const meta = session.inputMetadata[0];
  const dims = meta?.isTensor ? meta.shape : [];
  if (dims.length !== 4 || !dims.slice(1).every((d) => typeof d === 'number' && d > 0)) {
    throw new UsageError(
      `${path}: no model.json beside it and the graph input shape [${dims.join(', ')}] is not N x C x H x W; write a model card (see README)`,
    );
  }
  const [c, h, w] = dims.slice(1) as number[];
  if (typeof dims[0] === 'number' && dims[0] > 0) {
    throw new UsageError(
      `${path}: the graph has a fixed batch size ${dims[0]}; export it with a dynamic batch axis`,
    );
  }
  let out: ort.Tensor;
  try {
    const probe = await session.run({
      [session.inputNames[0]]: new ort.Tensor('float32', new Float32Array(2 * c * h * w), [2, c, h, w]),
    });
    out = probe[session.outputNames[0]];
  } catch (e) {
    throw new UsageError(
      `${path}: a test forward pass of 2 inputs failed: ${firstLine((e as Error).message)}`,
    );
  }
  if (out.dims.length !== 2 || out.dims[0] !== 2 || out.dims[1] < 2) {
    throw new UsageError(
      `${path}: the output is [${out.dims.join(', ')}] for 2 inputs; smooth-reduce needs logits [N, classes] with at least two classes (write a model card if the graph says otherwise)`,
    );
  }
  const classes = out.dims[1];
  return {
    format: MODEL_CARD_FORMAT,
    version: MODEL_CARD_VERSION,
    name: path,
    input: {
      layout: 'NCHW',
      shape: [c, h, w],
      pixelRange: [0, 1],
      channelOrder: c === 1 ? 'gray' : 'RGB',
      normalization: null,
    },
    classes: Array.from({ length: classes }, (_, i) => String(i)),
  };
}

function firstLine(s: string): string {
  return s.split('\n')[0].trim();
}
