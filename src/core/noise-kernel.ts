/**
 * Loads noise-kernel.wat (compiled into noise-kernel-wasm.ts) and runs it on a GaussianRng's lanes:
 * the hot loop of `GaussianRng.fillNoisy` (rng.ts defines the sampler; this is its fast
 * implementation, tested to give the same bits as rng.ts's scalar lanes). WebAssembly SIMD because
 * the same loop in optimised JavaScript cost 30 to 45 ns per value here and varied between runs
 * (deoptimisations around the rare slow path, a mispredicted sign branch); the scalar WebAssembly
 * loop ~15 ns, four lanes side by side ~10 ns (scripts/build-noise-kernel.ts, docs/performance.md).
 * No Node imports: it runs in Node, worker threads and the browser (the module is ~1 kB, compiled
 * synchronously).
 */
import { NOISE_KERNEL_WASM } from './noise-kernel-wasm.js';

/** Byte offsets of noise-kernel.wat's memory layout. */
const STATE = 0;
const KN = 64;
const WN = 1088;
/** the kernel's SIMD width: four generators (lanes) side by side (rng.ts re-exports it) */
export const LANES = 4;
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
  /** the lanes' states in the kernel's memory (transposed: s0 of every lane, s1, ...) */
  private state!: Int32Array;
  private heap!: Float32Array;
  /** one lane's state, handed to the slow path */
  private readonly laneState = new Int32Array(4);

  constructor(parts: ZigguratParts) {
    const bytes = Uint8Array.from(atob(NOISE_KERNEL_WASM), (c) => c.charCodeAt(0));
    const slow = (lane: number, m: number, iz: number, negative: number): number => {
      const one = this.laneState;
      for (let k = 0; k < 4; k++) one[k] = this.state[k * LANES + lane];
      const g = parts.slow(one, m, iz, negative !== 0);
      for (let k = 0; k < 4; k++) this.state[k * LANES + lane] = one[k];
      return g;
    };
    const instance = new wasm.Instance(new wasm.Module(bytes), { js: { slow } });
    this.memory = instance.exports.memory as WasmMemory;
    this.fillExport = instance.exports.fill as FillExport;
    this.views();
    new Float64Array(this.memory.buffer, KN, parts.kn.length).set(parts.kn);
    new Float64Array(this.memory.buffer, WN, parts.wn.length).set(parts.wn);
  }

  /**
   * `count` noisy samples of `center`, the s-th at out[offset + s * stride ...], drawn in order from
   * the lanes' states `lanes` (4 x LANES values, transposed; updated): see GaussianRng.fillNoisy.
   */
  fill(
    lanes: Int32Array,
    out: Float32Array,
    offset: number,
    stride: number,
    count: number,
    center: Float32Array,
    sigma: number,
    grid: { step: number; inverse: number; limit: number },
  ): void {
    const n = center.length;
    // the kernel draws LANES values at a time: the centre is padded (its padding drawn, not used)
    const padded = Math.ceil(n / LANES) * LANES;
    const needed = HEAP + 8 * padded;
    if (this.memory.buffer.byteLength < needed) {
      this.memory.grow(Math.ceil((needed - this.memory.buffer.byteLength) / PAGE));
      this.views();
    }
    const centerAt = HEAP;
    const outAt = HEAP + 4 * padded;
    this.heap.set(center, centerAt / 4);
    this.heap.fill(0, centerAt / 4 + n, centerAt / 4 + padded);
    this.state.set(lanes);
    const drawn = this.heap.subarray(outAt / 4, outAt / 4 + n);
    for (let s = 0; s < count; s++) {
      this.fillExport(padded, centerAt, outAt, sigma, grid.step, grid.inverse, grid.limit);
      out.set(drawn, offset + s * stride);
    }
    lanes.set(this.state);
  }

  private views(): void {
    this.state = new Int32Array(this.memory.buffer, STATE, 4 * LANES);
    this.heap = new Float32Array(this.memory.buffer);
  }
}
