/**
 * A Denoiser backed by ONNX Runtime (onnxruntime-node), with its denoiser card (./denoiser-card.ts):
 * `direct` graphs map noisy images to clean ones; `diffusion-eps` graphs predict the noise of x_t at
 * timestep t and are run as Carlini et al.'s one-shot denoiser at the run's sigma (./diffusion.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { UsageError } from '../core/errors.js';
import { type Shape3, formatShape, shapeSize } from '../core/shape.js';
import { readJsonFile, sha256Hex } from '../io/json.js';
import type { Denoiser } from './denoiser.js';
import { type DenoiserCard, cardAccepts, isDenoiserCard, validateDenoiserCard } from './denoiser-card.js';
import {
  type DiffusionStep,
  alphaBars,
  denoisedFromEps,
  diffusionInput,
  diffusionInputs,
  diffusionStep,
  timestepValues,
} from './diffusion.js';
import { externalDataFiles, modelFile } from './model-identity.js';
import { type SessionOptions, createSession, firstLine, readModel } from './onnx-session.js';

export interface DenoiserLoadOptions extends SessionOptions {
  /** the run's noise level (pixel scale): fixes a diffusion model's timestep */
  sigma: number;
}

/** The denoiser card of a denoiser folder (or .onnx file): model.json beside the graph, checked. */
export function readDenoiserCard(modelPath: string): DenoiserCard {
  const path = modelFile(modelPath);
  const cardPath = join(dirname(path), 'model.json');
  if (!existsSync(cardPath))
    throw new UsageError(
      `${path}: a denoiser needs its card (model.json beside it, format "smooth-reduce-denoiser-card"; see docs/denoised-smoothing.md)`,
    );
  const raw = readJsonFile(cardPath, 'denoiser card');
  if (!isDenoiserCard(raw))
    throw new UsageError(
      `${cardPath} is not a denoiser card (format "smooth-reduce-denoiser-card"): is ${modelPath} a classifier?`,
    );
  return validateDenoiserCard(raw, cardPath);
}

export class OnnxDenoiser implements Denoiser {
  readonly name: string;
  readonly channels: number;
  readonly pixelRange: readonly [number, number];
  /** diffusion-eps: the one-shot step used at this sigma */
  readonly step?: DiffusionStep;
  private readonly imageInput: string;
  private readonly timestepInput?: string;
  private readonly outputName: string;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly card: DenoiserCard,
    /** the .onnx file, its sha256 and its external data files (for manifests) */
    readonly path: string,
    readonly sha256: string,
    readonly externalData: { path: string; sha256: string }[],
    sigma: number,
  ) {
    this.name = card.name;
    this.channels = card.input.shape[0];
    this.pixelRange = card.input.pixelRange;
    this.outputName = session.outputNames[0];
    if (card.kind === 'diffusion-eps') {
      const d = card.diffusion!;
      this.step = diffusionStep(alphaBars(d.schedule), card.input.pixelRange, d.modelRange, sigma);
      const inputs = diffusionInputs(session.inputNames, (i) => {
        const meta = session.inputMetadata[i];
        return meta?.isTensor ? meta.shape.length : undefined;
      });
      this.timestepInput = inputs.timestep;
      this.imageInput = inputs.image;
    } else {
      this.imageInput = session.inputNames[0];
    }
  }

  /** Loads a denoiser folder (model.onnx + model.json, a denoiser card) and checks it with a forward pass. */
  static async load(modelPath: string, options: DenoiserLoadOptions): Promise<OnnxDenoiser> {
    const { path, bytes, threads } = readModel(modelPath, options);
    const card = readDenoiserCard(modelPath);
    // external data confined to the denoiser's folder, as for classifiers (./model-identity.ts)
    const external = externalDataFiles(path, bytes);
    const session = await createSession(path, bytes, external.length > 0, threads, options.device);
    const externalData = external.map((f) => ({ path: f.location, sha256: sha256Hex(readFileSync(f.file)) }));
    const inputs = card.kind === 'diffusion-eps' ? 2 : 1;
    if (session.inputNames.length !== inputs || session.outputNames.length !== 1) {
      await session.release();
      throw new UsageError(
        `${path}: a ${card.kind} denoiser needs ${inputs === 2 ? 'two inputs (image, timestep)' : 'one image input'} and one output; the graph has ${session.inputNames.length} input(s) and ${session.outputNames.length} output(s)`,
      );
    }
    const denoiser = new OnnxDenoiser(session, card, path, sha256Hex(bytes), externalData, options.sigma);
    await denoiser.check();
    return denoiser;
  }

  accepts(shape: Shape3): boolean {
    return cardAccepts(this.card, shape);
  }

  async run(batch: Float32Array, count: number, shape: Shape3): Promise<Float32Array> {
    const size = shapeSize(shape);
    const data = batch.subarray(0, count * size);
    const dims = [count, shape.channels, shape.height, shape.width];
    const feeds: Record<string, ort.Tensor> = {};
    const step = this.step;
    let input = data;
    if (step) {
      input = diffusionInput(data, step);
      const type = this.card.diffusion!.timestepType;
      feeds[this.timestepInput!] = new ort.Tensor(type, timestepValues(step, type, count), [count]);
    }
    feeds[this.imageInput] = new ort.Tensor('float32', input, dims);
    const out = (await this.session.run(feeds, [this.outputName]))[this.outputName];
    if (out.type !== 'float32' || out.data.length !== count * size) {
      throw new UsageError(
        `${this.path}: output "${this.outputName}" is ${out.type} [${out.dims.join(', ')}] for ${count} images of ${formatShape(shape)}; a denoiser must return images of its input's shape`,
      );
    }
    const result = out.data as Float32Array;
    if (step) denoisedFromEps(input, result, step);
    return step ? input : result;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }

  /** One forward pass of the card's shape: a clear error before sampling. */
  private async check(): Promise<void> {
    const [channels, height, width] = this.card.input.shape;
    const shape = { channels, height, width };
    try {
      const out = await this.run(new Float32Array(2 * shapeSize(shape)).fill(0.5), 2, shape);
      if (!out.every(Number.isFinite))
        throw new UsageError(`${this.path}: the denoiser returns non-finite values on a plain grey input`);
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(`${this.path}: a test forward pass failed: ${firstLine((e as Error).message)}`);
    }
  }
}
