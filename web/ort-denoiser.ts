/**
 * A denoiser in the browser (denoised smoothing): an ONNX image-to-image model run by onnxruntime-web,
 * implementing the same Denoiser interface as onnxruntime-node's OnnxDenoiser, with the same card
 * and the same one-shot diffusion step (src/models/diffusion.ts) for `diffusion-eps` models.
 */
import * as ort from 'onnxruntime-web/wasm';
import { type Shape3, shapeSize } from '../src/core/shape.js';
import type { Denoiser } from '../src/models/denoiser.js';
import { type DenoiserCard, cardAccepts } from '../src/models/denoiser-card.js';
import {
  type DiffusionStep,
  alphaBars,
  denoisedFromEps,
  diffusionInput,
  diffusionInputs,
  diffusionStep,
  timestepValues,
} from '../src/models/diffusion.js';

export class WebOnnxDenoiser implements Denoiser {
  readonly name: string;
  readonly channels: number;
  readonly pixelRange: readonly [number, number];

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly card: DenoiserCard,
    private readonly step: DiffusionStep | null,
  ) {
    this.name = card.name;
    this.channels = card.input.shape[0];
    this.pixelRange = card.input.pixelRange;
  }

  /** `sigma`: the run's noise level (fixes a diffusion model's timestep). */
  static async load(bytes: ArrayBuffer, card: DenoiserCard, sigma: number): Promise<WebOnnxDenoiser> {
    const session = await ort.InferenceSession.create(new Uint8Array(bytes), {
      executionProviders: ['wasm'],
      graphOptimizationLevel: 'all',
    });
    const d = card.diffusion;
    const step = d ? diffusionStep(alphaBars(d.schedule), card.input.pixelRange, d.modelRange, sigma) : null;
    return new WebOnnxDenoiser(session, card, step);
  }

  accepts(shape: Shape3): boolean {
    return cardAccepts(this.card, shape);
  }

  async run(batch: Float32Array, count: number, shape: Shape3): Promise<Float32Array> {
    const data = batch.subarray(0, count * shapeSize(shape));
    const dims = [count, shape.channels, shape.height, shape.width];
    const names = this.session.inputNames;
    const step = this.step;
    if (!step) {
      const out = await this.session.run({ [names[0]]: new ort.Tensor('float32', data, dims) });
      return out[this.session.outputNames[0]].data as Float32Array;
    }
    const xt = diffusionInput(data, step);
    const type = this.card.diffusion!.timestepType;
    const { image, timestep } = diffusionInputs(names, () => undefined);
    const out = await this.session.run({
      [image]: new ort.Tensor('float32', xt, dims),
      [timestep]: new ort.Tensor(type, timestepValues(step, type, count), [count]),
    });
    denoisedFromEps(xt, out[this.session.outputNames[0]].data as Float32Array, step);
    return xt;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
