// Loads each model folder's model.onnx in onnxruntime-node, checks its input/output names and the
// model card, and measures forward throughput on a batch of random [0, 1] inputs.
// Usage (repo root): node training/bench-ort.mjs [--batch 1000] [--runs 5] [--threads 2] models/fmnist-cnn-s025 ...
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';

const args = process.argv.slice(2);
const opt = { batch: 1000, runs: 5, threads: 2 };
const dirs = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--batch' || a === '--runs' || a === '--threads') opt[a.slice(2)] = Number(args[++i]);
  else dirs.push(a);
}

for (const dir of dirs) {
  const card = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const session = await ort.InferenceSession.create(join(dir, 'model.onnx'), {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: opt.threads,
  });
  const [c, h, w] = card.input.shape;
  const data = new Float32Array(opt.batch * c * h * w);
  for (let i = 0; i < data.length; i++) data[i] = Math.random();
  const input = new ort.Tensor('float32', data, [opt.batch, c, h, w]);
  const first = await session.run({ input }); // warm-up
  const logits = first.logits;
  if (!logits || logits.dims.join() !== `${opt.batch},${card.classes.length}`) {
    throw new Error(`${dir}: unexpected output ${JSON.stringify(logits?.dims)}`);
  }
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < opt.runs; r++) await session.run({ input });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const perSecond = (opt.batch * opt.runs) / seconds;
  console.log(
    `${dir}: inputs ${JSON.stringify(session.inputNames)} outputs ${JSON.stringify(session.outputNames)} ` +
      `logits [${logits.dims.join(', ')}]; ${perSecond.toFixed(0)} forward passes/s ` +
      `(batch ${opt.batch}, ${opt.runs} runs, ${opt.threads} threads)`,
  );
  await session.release();
}
