/**
 * The noise sampler alone: nanoseconds per noise value of GaussianRng.fillNoisy (the WebAssembly
 * SIMD kernel, src/core/noise-kernel.wat) for the input sizes of the shipped models, and of the
 * sampler's scalar definition (nextGaussian + grid snap, what the kernel is tested against), e.g.
 *   node --import tsx bench/noise.ts [--seconds 2]
 * Each figure is the median of 5 timed rounds after a warm-up; noise generation is the library's
 * main cost per forward pass besides the model (docs/performance.md).
 */
import { parseArgs } from 'node:util';
import { GaussianRng, LANES, noiseGrid } from '../src/core/rng.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '2' } } });
const seconds = Number(values.seconds);
if (!(seconds > 0)) {
  console.error('bench/noise: --seconds must be a positive number');
  process.exit(2);
}
const grid = noiseGrid([0, 1], 0.25);

/** median ns per value of `draw`, which draws `values` noise values per call */
function measure(values: number, draw: () => void): number {
  const rounds: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  for (let round = 0; round < 6 || performance.now() < deadline; round++) {
    const start = performance.now();
    let drawn = 0;
    while (drawn < 2e7) {
      draw();
      drawn += values;
    }
    if (round > 0) rounds.push(((performance.now() - start) * 1e6) / drawn);
    if (round >= 40) break;
  }
  rounds.sort((a, b) => a - b);
  return rounds[Math.floor(rounds.length / 2)];
}

console.log('input (values)          | fillNoisy, 64 samples per call | scalar definition');
for (const [name, d] of [
  ['Fashion-MNIST (784)', 784],
  ['CIFAR-10 (3,072)', 3072],
  ['ImageNet (150,528)', 150528],
] as const) {
  const center = new Float32Array(d).map((_, i) => (i % 256) / 255);
  const samples = 64;
  const out = new Float32Array(samples * d);
  const rng = new GaussianRng(0, 1);
  const kernel = measure(samples * d, () => rng.fillNoisy(out, 0, center, 0.25, grid, samples));
  const lanes = Array.from({ length: LANES }, (_, lane) => new GaussianRng(0, 1, lane));
  const scalar = measure(d, () => {
    for (let i = 0; i < d; i++) {
      const k = Math.floor((center[i] + 0.25 * lanes[i % LANES].nextGaussian()) * grid.inverse + 0.5);
      out[i] = Math.min(grid.limit, Math.max(-grid.limit, k)) * grid.step;
    }
  });
  console.log(
    `${name.padEnd(23)} | ${kernel.toFixed(1).padStart(8)} ns/value | ${scalar.toFixed(1).padStart(8)} ns/value`,
  );
}
