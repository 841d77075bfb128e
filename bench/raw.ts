/** Bench phase 1: raw ONNX Runtime throughput (session.run, the library's session options). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { type ModelSpec, log, modelDir } from './common.js';
import type { Options } from './options.js';
import type { RawResult } from './results.js';

export async function rawThroughput(o: Options, model: ModelSpec, shape: number[]): Promise<RawResult[]> {
  // The library's session options (src/models/onnx-classifier.ts)
  const session = await ort.InferenceSession.create(readFileSync(join(modelDir(model), 'model.onnx')), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: o.threads,
  });
  const size = shape[0] * shape[1] * shape[2];
  const out: RawResult[] = [];
  try {
    for (const batchInputs of o.rawSizes) {
      const data = new Float32Array(batchInputs * size);
      for (let i = 0; i < data.length; i++) data[i] = Math.random();
      const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [batchInputs, ...shape]) };
      for (let i = 0; i < 2; i++) await session.run(feeds); // warm-up: arena, kernels
      let runs = 0;
      const start = performance.now();
      let elapsed = 0;
      while (runs < 3 || elapsed < o.rawSeconds * 1000) {
        await session.run(feeds);
        runs++;
        elapsed = performance.now() - start;
      }
      const seconds = elapsed / 1000;
      out.push({ batchInputs, runs, seconds, forwardsPerSec: (runs * batchInputs) / seconds });
      log(
        `${model.key} raw ORT, ${batchInputs} inputs per run: ${Math.round((runs * batchInputs) / seconds)} forward passes/s`,
      );
    }
  } finally {
    await session.release();
  }
  return out;
}
