/**
 * The base classifier in the browser: an ONNX model run by onnxruntime-web (WebAssembly, SIMD, and
 * threads when the page is cross-origin isolated). It implements the same Classifier interface as
 * onnxruntime-node's OnnxClassifier, so SmoothedClassifier, the reducers and the statistics run
 * unchanged. The WebAssembly files are bundled with the page (no CDN).
 */
import * as ort from 'onnxruntime-web/wasm';
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import mjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.mjs?url';
import type { Shape3 } from '../src/core/shape.js';
import type { Classifier } from '../src/models/classifier.js';

ort.env.wasm.wasmPaths = {
  wasm: new URL(wasmUrl, location.href).href,
  mjs: new URL(mjsUrl, location.href).href,
};
ort.env.wasm.numThreads = globalThis.crossOriginIsolated
  ? Math.min(4, navigator.hardwareConcurrency || 1)
  : 1;

export class WebOnnxClassifier implements Classifier {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inputShape: Shape3,
    readonly numClasses: number,
    readonly pixelRange: readonly [number, number],
  ) {}

  /**
   * `pixelRange`: the model card's (it fixes the sampler's noise grid, as in Node); `normalized`: the
   * card asks for mean/std outside the graph (not supported here).
   */
  static async load(
    bytes: ArrayBuffer,
    inputShape: Shape3,
    numClasses: number,
    pixelRange: readonly [number, number],
    normalized = false,
  ): Promise<WebOnnxClassifier> {
    if (normalized) throw new Error('models that normalise outside the graph are not supported in the page');
    const session = await ort.InferenceSession.create(new Uint8Array(bytes), {
      executionProviders: ['wasm'],
      graphOptimizationLevel: 'all',
    });
    return new WebOnnxClassifier(session, inputShape, numClasses, pixelRange);
  }

  static get threads(): number {
    return ort.env.wasm.numThreads ?? 1;
  }

  async run(batch: Float32Array, count: number): Promise<Float32Array> {
    const { channels, height, width } = this.inputShape;
    const data = batch.subarray(0, count * channels * height * width);
    const input = new ort.Tensor('float32', data, [count, channels, height, width]);
    const out = await this.session.run({ [this.session.inputNames[0]]: input });
    const logits = out[this.session.outputNames[0]];
    if (logits.type !== 'float32' || logits.data.length !== count * this.numClasses) {
      throw new Error(`the model returned ${logits.data.length} ${logits.type} values for ${count} inputs`);
    }
    // let the page repaint between model calls
    await new Promise((resolve) => setTimeout(resolve, 0));
    return logits.data as Float32Array;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
