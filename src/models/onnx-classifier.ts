/**
 * A Classifier backed by ONNX Runtime (onnxruntime-node), with its model card.
 */
// a namespace import: worker threads under tsx load this module through require(), where a default import is undefined
import * as ort from 'onnxruntime-node';
import { UsageError } from '../core/errors.js';
import { type ClipLayout, type Shape3, formatShape } from '../core/shape.js';
import type { Classifier } from './classifier.js';
import {
  type ModelCard,
  MODEL_CARD_FORMAT,
  MODEL_CARD_VERSION,
  cardLayout,
  cardShape,
  readModelCard,
} from './model-card.js';
import { type ModelIdentity, cardFile, fileStamps, identify } from './model-identity.js';
import { type SessionOptions, createSession, firstLine, readModel } from './onnx-session.js';

export type { Device } from './onnx-session.js';
/** inputs in the forward pass that checks a model at load */
const PROBE_BATCH = 3;

export interface LoadOptions extends SessionOptions {
  /** explicit model card path; default: model.json beside the .onnx file */
  card?: string;
}

export class OnnxClassifier implements Classifier {
  readonly inputShape: Shape3;
  /** video models: the order of the input tensor's axes */
  readonly layout?: ClipLayout;
  readonly numClasses: number;
  readonly pixelRange: readonly [number, number];
  /** the input tensor's dimensions without the batch axis, in the model's layout */
  private readonly dims: number[];
  private readonly inputName: string;
  private readonly outputName: string;
  private readonly scale?: { mul: Float32Array; add: Float32Array };

  /** the .onnx file, and its sha256 (for manifests) */
  readonly path: string;
  readonly sha256: string;
  /** the external data files the graph names (relative to the model's folder) and their sha256 */
  readonly externalData: ModelIdentity['externalData'];
  /** sha256 of the card's computation fields; null when the card was inferred from the graph */
  readonly cardSha256: string | null;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly card: ModelCard,
    readonly identity: ModelIdentity,
  ) {
    this.path = identity.path;
    this.sha256 = identity.sha256;
    this.externalData = identity.externalData;
    this.cardSha256 = identity.cardSha256;
    this.inputShape = cardShape(card);
    this.layout = cardLayout(card);
    const { channels: C, frames: T, height: H, width: W } = this.inputShape;
    this.dims = T === undefined ? [C, H, W] : this.layout === 'NTCHW' ? [T, C, H, W] : [C, T, H, W];
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
    const { path, bytes, threads } = readModel(modelPath, options);
    const cardPath = cardFile(path, options.card);
    if (options.card !== undefined && cardPath === null)
      throw new UsageError(`no such model card: ${options.card}`);
    const givenCard = cardPath ? readModelCard(cardPath) : null;
    // the .onnx, its external data (confined to the model's folder) and the card
    const identity = identify(path, bytes, givenCard);
    const stamps = fileStamps(identity, cardPath);
    const session = await createSession(
      path,
      bytes,
      identity.externalData.length > 0,
      threads,
      options.device,
    );
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
    const card = givenCard ?? (await inferCard(session, path));
    let changed: boolean;
    try {
      changed = fileStamps(identity, cardPath) !== stamps;
    } catch {
      changed = true;
    }
    if (changed) {
      await session.release();
      throw new UsageError(`${path}: the model's files changed while it was loaded; load it again`);
    }
    const classifier = new OnnxClassifier(session, card, identity);
    await classifier.check();
    return classifier;
  }

  async run(batch: Float32Array, count: number): Promise<Float32Array> {
    const { channels, frames = 1, height, width } = this.inputShape;
    const size = channels * frames * height * width;
    const data = batch.subarray(0, count * size);
    if (this.scale) {
      const { mul, add } = this.scale;
      // one channel's values are contiguous runs: C x (T H W), or T x C x (H W) for NTCHW
      const run = this.layout === 'NTCHW' ? height * width : frames * height * width;
      for (let base = 0; base < count * size; base += run) {
        const c = Math.floor(base / run) % channels;
        for (let i = base; i < base + run; i++) data[i] = data[i] * mul[c] + add[c];
      }
    }
    const input = new ort.Tensor('float32', data, [count, ...this.dims]);
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
      const expected = this.dims;
      const clash =
        meta.shape.length !== expected.length + 1 ||
        dims.some((d, i) => typeof d === 'number' && d !== expected[i]);
      if (clash) {
        const card = this.layout
          ? `${this.layout} ${formatShape(this.inputShape)} (C x T x H x W)`
          : `N x ${formatShape(this.inputShape)}`;
        throw new UsageError(
          `${this.path}: the graph input is [${meta.shape.join(', ')}] but the model card says ${card}`,
        );
      }
      if (typeof meta.shape[0] === 'number' && meta.shape[0] !== -1) {
        throw new UsageError(
          `${this.path}: the graph has a fixed batch size ${meta.shape[0]}; export it with a dynamic batch axis`,
        );
      }
    }
    const size = this.dims.reduce((a, b) => a * b, 1);
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

/**
 * The card of a model without one: images N x C x H x W, or (5-D input) video clips taken as
 * N x C x T x H x W (a [N, T, C, H, W] model needs a card saying so).
 */
async function inferCard(session: ort.InferenceSession, path: string): Promise<ModelCard> {
  const meta = session.inputMetadata[0];
  const dims = meta?.isTensor ? meta.shape : [];
  if (![4, 5].includes(dims.length) || !dims.slice(1).every((d) => typeof d === 'number' && d > 0)) {
    throw new UsageError(
      `${path}: no model.json beside it and the graph input shape [${dims.join(', ')}] is neither N x C x H x W nor N x C x T x H x W; write a model card (see README)`,
    );
  }
  const shape = dims.slice(1) as number[];
  const c = shape[0];
  const size = shape.reduce((a, b) => a * b, 1);
  if (typeof dims[0] === 'number' && dims[0] > 0) {
    throw new UsageError(
      `${path}: the graph has a fixed batch size ${dims[0]}; export it with a dynamic batch axis`,
    );
  }
  let out: ort.Tensor;
  try {
    const probe = await session.run({
      [session.inputNames[0]]: new ort.Tensor('float32', new Float32Array(2 * size), [2, ...shape]),
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
      layout: shape.length === 4 ? 'NCTHW' : 'NCHW',
      shape: shape as ModelCard['input']['shape'],
      pixelRange: [0, 1],
      channelOrder: c === 1 ? 'gray' : 'RGB',
      normalization: null,
    },
    classes: Array.from({ length: classes }, (_, i) => String(i)),
  };
}
