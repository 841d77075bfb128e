/**
 * Loads noise-kernel.wat (compiled into noise-kernel-wasm.ts) and runs it on a GaussianRng's state:
 * the hot loop of `GaussianRng.fillNoisy` (rng.ts defines the sampler; this is its fast
 * implementation, tested to give the same bits as rng.ts's `nextGaussian` followed by the grid
 * snap). WebAssembly because V8's optimised JavaScript for the same loop varied from 16 to 40 ns per
 * value between runs (deoptimisations around the rare slow path, a mispredicted sign branch), and
 * the model call is the only cost that should dominate (docs/performance.md). No Node imports: it
 * runs in Node, worker threads and the browser (the module is ~500 bytes, compiled synchronously).
 */
import { NOISE_KERNEL_WASM } from './noise-kernel-wasm.js';

/** Byte offsets of noise-kernel.wat's memory layout. */
const STATE = 0;
const KN = 16;
const WN = 1040;
const HEAP = 4096;
const PAGE = 65536;

/** The ziggurat's tables and its slow path, from rng.ts (passed in: no import cycle). */
export interface ZigguratParts {
  kn: Float64Array;
  wn: Float64Array;
  /** the wedges and the tail: consumes further draws from the state `s`, returns N(0, 1) */
  slow(s: Int32Array, m: number, iz: number, negative: boolean): number;
}

/** The part of the WebAssembly JS API used here (TypeScript's ES2022 library does not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

type FillExport = (
  n: number,
  center: number,
  out: number,
  sigma: number,
  step: number,
  inverse: number,
  limit: number,
) => void;

export class NoiseKernel {
  private readonly memory: WasmMemory;
  private readonly fillExport: FillExport;
  private state!: Int32Array;
  private heap!: Float32Array;

  constructor(parts: ZigguratParts) {
    const bytes = Uint8Array.from(atob(NOISE_KERNEL_WASM), (c) => c.charCodeAt(0));
    const slow = (m: number, iz: number, negative: number): number =>
      parts.slow(this.state, m, iz, negative !== 0);
    const instance = new wasm.Instance(new wasm.Module(bytes), { js: { slow } });
    this.memory = instance.exports.memory as WasmMemory;
    this.fillExport = instance.exports.fill as FillExport;
    this.views();
    new Float64Array(this.memory.buffer, KN, parts.kn.length).set(parts.kn);
    new Float64Array(this.memory.buffer, WN, parts.wn.length).set(parts.wn);
  }

  /**
   * `count` noisy samples of `center`, the s-th at out[offset + s * stride ...], drawn in order from
   * the generator state `state` (updated): see GaussianRng.fillNoisy.
   */
  fill(
    state: Int32Array,
    out: Float32Array,
    offset: number,
    stride: number,
    count: number,
    center: Float32Array,
    sigma: number,
    grid: { step: number; inverse: number; limit: number },
  ): void {
    const n = center.length;
    const needed = HEAP + 8 * n;
    if (this.memory.buffer.byteLength < needed) {
      this.memory.grow(Math.ceil((needed - this.memory.buffer.byteLength) / PAGE));
      this.views();
    }
    const centerAt = HEAP;
    const outAt = HEAP + 4 * n;
    this.heap.set(center, centerAt / 4);
    this.state.set(state);
    const drawn = this.heap.subarray(outAt / 4, outAt / 4 + n);
    for (let s = 0; s < count; s++) {
      this.fillExport(n, centerAt, outAt, sigma, grid.step, grid.inverse, grid.limit);
      out.set(drawn, offset + s * stride);
    }
    state.set(this.state);
  }

  private views(): void {
    this.state = new Int32Array(this.memory.buffer, STATE, 4);
    this.heap = new Float32Array(this.memory.buffer);
  }
}
