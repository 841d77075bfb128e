import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { GaussianRng, LANES, noiseGrid, zigguratTables } from '../src/core/rng.js';

const { R } = zigguratTables;

/**
 * The sampler's definition: coordinate i by lane i mod LANES (each a scalar GaussianRng drawing with
 * nextGaussian), a sample taking ceil(d / LANES) draws from every lane, then the grid snap Q
 * (rng.ts's module comment).
 */
function reference(
  lanes: GaussianRng[],
  center: Float32Array,
  sigma: number,
  grid: ReturnType<typeof noiseGrid>,
) {
  const out = new Float32Array(center.length);
  let tails = 0;
  const padded = Math.ceil(center.length / LANES) * LANES;
  for (let i = 0; i < padded; i++) {
    const g = lanes[i % LANES].nextGaussian();
    if (i >= center.length) continue;
    if (Math.abs(g) >= R) tails++;
    const k = Math.floor((center[i] + sigma * g) * grid.inverse + 0.5);
    out[i] = Math.min(grid.limit, Math.max(-grid.limit, k)) * grid.step;
  }
  return { out, tails };
}

test('WebAssembly noise kernel: the same bits as nextGaussian + grid snap, slow paths and tails included', () => {
  let tails = 0;
  for (const [sigma, top] of [
    [0.25, 1],
    [1, 1],
    [16, 255],
  ] as const) {
    const grid = noiseGrid([0, top], sigma);
    for (const stream of [0, 7, 2 ** 40 + 1]) {
      const n = 3072 + (stream % 5);
      const center = new Float32Array(n).map((_, i) => (((i * 37) % 256) / 255) * top);
      const fast = new GaussianRng(11, stream);
      const lanes = Array.from({ length: LANES }, (_, lane) => new GaussianRng(11, stream, lane));
      const samples = 12;
      const out = new Float32Array(samples * n);
      fast.fillNoisy(out, 0, center, sigma, grid, samples);
      for (let s = 0; s < samples; s++) {
        const expected = reference(lanes, center, sigma, grid);
        tails += expected.tails;
        const got = out.subarray(s * n, (s + 1) * n);
        for (let i = 0; i < n; i++) {
          if (!Object.is(got[i], expected.out[i])) {
            assert.fail(
              `sigma ${sigma} stream ${stream} sample ${s} coordinate ${i}: ${got[i]} != ${expected.out[i]}`,
            );
          }
        }
      }
      // the lanes moved on exactly as far: the next sample agrees too
      const next = new Float32Array(n);
      fast.fillNoisy(next, 0, center, sigma, grid);
      assert.deepEqual(next, reference(lanes, center, sigma, grid).out);
    }
  }
  // ~2 * Phi(-R) = 5.8e-4 of 333k values: the tail path (and so the wedges) was exercised
  assert.ok(tails > 100, `only ${tails} tail draws`);
});

test('WebAssembly noise kernel: strided samples, offsets, and inputs larger than its initial memory', () => {
  const grid = noiseGrid([0, 1], 0.5);
  const n = 50_000; // 400 kB of centre + output: the kernel's memory has to grow
  const center = new Float32Array(n).fill(0.5);
  const stride = n + 3;
  const out = new Float32Array(2 + 3 * stride).fill(9);
  new GaussianRng(2, 0).fillNoisy(out, 2, center, 0.5, grid, 3, stride);
  const one = new Float32Array(n);
  const rng = new GaussianRng(2, 0);
  for (let s = 0; s < 3; s++) {
    rng.fillNoisy(one, 0, center, 0.5, grid);
    assert.deepEqual(out.subarray(2 + s * stride, 2 + s * stride + n), one);
    if (s < 2) assert.deepEqual([...out.subarray(2 + s * stride + n, 2 + (s + 1) * stride)], [9, 9, 9]);
  }
  assert.deepEqual([...out.subarray(0, 2)], [9, 9]);
});

test('the committed kernel module is what noise-kernel.wat compiles to', async (t) => {
  if (!existsSync(new URL('../node_modules/wabt/package.json', import.meta.url))) {
    t.skip('wabt (a devDependency) is not installed');
    return;
  }
  const { compileNoiseKernel, MODULE_PATH } = await import('../scripts/build-noise-kernel.js');
  const { readFile } = await import('node:fs/promises');
  assert.equal(
    await readFile(MODULE_PATH, 'utf8'),
    await compileNoiseKernel(),
    'src/core/noise-kernel-wasm.ts is stale: run node --import tsx scripts/build-noise-kernel.ts',
  );
});
