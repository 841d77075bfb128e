// Re-measures a shipped model's clean test accuracy with onnxruntime-node, to check that the exported
// graph agrees with the PyTorch model (compare with metrics.cleanAccuracy in model.json).
// Usage (repo root): node training/verify-ort.mjs models/fmnist-cnn-s025 [models/cifar10-cnn-s025 ...]
// Fashion-MNIST is read from /usr/share/datasets/fashion-mnist, CIFAR-10 from the .npy cache that
// training/train.py writes to /tmp/cifar10-npy.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import ort from 'onnxruntime-node';

function readIdx(path) {
  const buf = gunzipSync(readFileSync(path));
  const ndim = buf[3];
  return buf.subarray(4 + 4 * ndim);
}

function readNpy(path) {
  const buf = readFileSync(path);
  const headerLen = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + headerLen).toString('latin1');
  const body = buf.subarray(10 + headerLen);
  if (header.includes("'<i8'")) return { int64: new BigInt64Array(body.buffer.slice(body.byteOffset)) };
  if (header.includes("'|u1'")) return { uint8: new Uint8Array(body) };
  throw new Error(`${path}: unsupported dtype in ${header}`);
}

function testSet(card) {
  if (card.classes.length === 10 && card.input.channelOrder === 'gray') {
    const root = '/usr/share/datasets/fashion-mnist';
    return {
      pixels: readIdx(join(root, 't10k-images-idx3-ubyte.gz')),
      labels: Array.from(readIdx(join(root, 't10k-labels-idx1-ubyte.gz'))),
    };
  }
  const root = '/tmp/cifar10-npy';
  return {
    pixels: readNpy(join(root, 'test_x.npy')).uint8,
    labels: Array.from(readNpy(join(root, 'test_y.npy')).int64, Number),
  };
}

for (const dir of process.argv.slice(2)) {
  const card = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const session = await ort.InferenceSession.create(join(dir, 'model.onnx'), { intraOpNumThreads: 2 });
  const { pixels, labels } = testSet(card);
  const [c, h, w] = card.input.shape;
  const size = c * h * w;
  const k = card.classes.length;
  const batch = 500;
  let correct = 0;
  for (let start = 0; start < labels.length; start += batch) {
    const n = Math.min(batch, labels.length - start);
    const data = new Float32Array(n * size);
    for (let i = 0; i < n * size; i++) data[i] = pixels[start * size + i] / 255;
    const out = await session.run({ input: new ort.Tensor('float32', data, [n, c, h, w]) });
    const logits = out.logits.data;
    for (let s = 0; s < n; s++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (logits[s * k + j] > logits[s * k + best]) best = j;
      if (best === labels[start + s]) correct++;
    }
  }
  const acc = correct / labels.length;
  console.log(
    `${dir}: ORT clean accuracy ${acc.toFixed(4)} on ${labels.length} test images ` +
      `(model card: ${card.metrics.cleanAccuracy})`,
  );
  await session.release();
}
