/**
 * Seeded Gaussian noise for the sampling hot path, with an explicit bound on how far the noisy
 * samples it produces are from ideal ones (see `samplerDeviation`).
 *
 * xoshiro128** (Blackman and Vigna) gives 32-bit uniforms with nothing but 32-bit integer ops, and
 * the Marsaglia-Tsang ziggurat (J. Stat. Softw. 5(8), 2000, 128 layers) turns them into a standard
 * normal: two 32-bit draws give the layer (7 bits), the sign (1 bit) and a 52-bit magnitude, and
 * ~99% of draws are accepted at once. Noisy samples come from four such generators side by side
 * (lanes; coordinate i of a sample is drawn by lane i mod 4, in order), so that the hot loop runs
 * four at a time in WebAssembly SIMD (noise-kernel.wat); each lane is a scalar generator of its own
 * (`new GaussianRng(seed, stream, lane)`). Every stream is a pure function of (seed, stream id), so
 * an input's noise does not depend on batch size, order, resumption or sharding.
 *
 * Floating point (Voracek and Hein, arXiv 2207.07209): a sampler built from finitely many random
 * bits is a discrete distribution, at total-variation distance 1 from any continuous one, and a base
 * classifier can read the low-order bits of its input. So every noisy value is snapped to a fixed
 * grid, `Q(z) = h * clamp(round(z / h))`, h a power of two chosen per run from the pixel range and
 * sigma (`noiseGrid`), and the model's input is Q(c + sigma g) EXACTLY (the grid values are float32
 * numbers). Q is part of the base classifier f o Q, which is just another classifier, so Cohen et
 * al.'s theorem applies to it with exact Gaussian noise, and what remains is the gap between our
 * Q(c + sigma g) and the ideal Q(c + sigma e), e ~ N(0, 1): a per-coordinate total-variation bound
 * `samplerDeviation` that the certifier subtracts (times the dimension) from pA's lower bound.
 * The one assumption left is the usual one: xoshiro128**'s outputs are independent uniform bits.
 */

import { LANES, NoiseKernel } from './noise-kernel.js';

/** Names this sampler in run manifests: logs drawn with another one are not resumed with it. */
export const SAMPLER = 'xoshiro128**x4-ziggurat52-grid';

/** Generators side by side in `fillNoisy` (noise-kernel.wat's SIMD width). */
export { LANES };

const LAYERS = 128;
/** magnitude resolution of the fast path: 52 bits, so (m + 0.5) and (m + 0.5) * w are exact-ish */
const MAG = 2 ** 52;
const R = 3.442619855899;
const V = 9.91256303526217e-3;

// Layer j >= 1 is the box [0, x_j] x [fn[j], fn[j-1]] (x_127 = R at the bottom, x_1 at the top),
// layer 0 the base strip [0, V / f(R)] x [0, f(R)] whose part beyond R stands for the tail.
// wn[j] = x_j / MAG; kn[j] = floor(x_{j-1} / x_j * MAG): below it the point is under the curve.
const kn = new Float64Array(LAYERS);
const wn = new Float64Array(LAYERS);
const fn = new Float64Array(LAYERS);
{
  let dn = R;
  let tn = dn;
  const q = V / Math.exp(-0.5 * dn * dn);
  kn[0] = Math.floor((dn / q) * MAG);
  kn[1] = 0;
  wn[0] = q / MAG;
  wn[LAYERS - 1] = dn / MAG;
  fn[LAYERS - 1] = Math.exp(-0.5 * dn * dn);
  for (let i = LAYERS - 2; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(V / dn + Math.exp(-0.5 * dn * dn)));
    kn[i + 1] = Math.floor((dn / tn) * MAG);
    tn = dn;
    fn[i] = Math.exp(-0.5 * dn * dn);
    wn[i] = dn / MAG;
  }
  // The top box gets area V exactly (its upper edge is 1 - 4.4e-11 instead of 1, with the truncated
  // R and V): every box then has the same area, which is what makes the ziggurat exact; the sliver
  // of the curve above the edge (area < 1e-15) is charged in TABLE_DEVIATION.
  fn[0] = fn[1] + V / dn;
}

/** The ziggurat's tables, for tests that check the bounds below. */
export const zigguratTables = { R, V, kn, wn, fn, MAG };

/**
 * The fixed grid noisy values are snapped to: step h = 2^(ceil(log2 B) - 23) with
 * B = max |pixel range| + 16 sigma, so that every k * h with |k| <= 2^24 is a float32 number and
 * values beyond +-2B (more than 16 sigma out) are clamped. For [0, 1] pixels and sigma <= 0.44,
 * h = 2^-20 (about 1e-6, four thousand times finer than 8-bit pixels).
 */
export interface NoiseGrid {
  step: number;
  inverse: number;
  /** largest |k| */
  limit: number;
}

export function noiseGrid(pixelRange: readonly [number, number], sigma: number): NoiseGrid {
  const bound = Math.max(Math.abs(pixelRange[0]), Math.abs(pixelRange[1])) + 16 * sigma;
  const exponent = Math.ceil(Math.log2(bound)) - 23;
  return { step: 2 ** exponent, inverse: 2 ** -exponent, limit: 2 ** 24 };
}

/**
 * Total-variation distance between the ziggurat's output with ideal (continuous) uniforms and exact
 * arithmetic, using our float64 tables as exact numbers, and N(0, 1). With all box areas equal the
 * algorithm is exact (Marsaglia and Tsang); `test/float-soundness.test.ts` recomputes the areas and
 * checks max_j |A_j / V - 1| <= 1e-12, and the sliver above the top box has area < 1e-15. The
 * output density is then within a factor 1 +- 2e-12 of the normal one outside the sliver, so
 * TV <= 2e-12 + 1e-15; 1e-11 leaves room.
 */
export const TABLE_DEVIATION = 1e-11;

/**
 * Per-coordinate total-variation bound between our sample Q(fl(c + fl(sigma * g))) and the ideal
 * Q(c + sigma * e), e ~ N(0, 1), for a centre coordinate |c| <= maxAbsCenter. Summed over the d
 * coordinates of one noisy sample (a product of independent coordinates), it bounds how much
 * P[f(Q(sample)) = cA] can differ between our sampler and exact Gaussian noise, so subtracting
 * d * samplerDeviation from pA's lower bound keeps the certificate sound for the smoothed f o Q.
 *
 * Coupling (each 52-bit draw is the leading bits of an ideal uniform U): with ideal uniforms the
 * ziggurat draws E_alg (TV <= TABLE_DEVIATION from N(0, 1)); ours differs only when
 *  1. a decision differs: the fast test m < kn[j] (one value of m: 2^-52 per attempt); the wedge
 *     test fn[j] + u (fn[j-1] - fn[j]) < exp(-x^2 / 2), whose two sides differ from the ideal ones by
 *     eta <= 9.2 * 2^-53 (u's resolution, float ops, exp within 2 ulp, |g - E_alg| * max|f'|), so
 *     it flips with probability <= 2 eta / (fn[j-1] - fn[j]) <= 2 eta R / V = 7.1e-13; the tail's
 *     accept test b + b < a^2 (cells of 2^-52 x 2^-52 touching a monotone curve: 2^-51; rounding:
 *     2^-43), at most 2 loop rounds on average. Attempts per coordinate: 128 V / sqrt(pi / 2) < 1.02.
 *  2. the values agree in their decisions but a boundary of Q lies between them. Fast path and
 *     wedges: g = fl((m + 0.5) x_j / 2^52) is within 2^-52 R of E_alg = (m + theta) x_j / 2^52, and
 *     fl(sigma g) and fl(c + .) add 2^-53 (sigma R + |c| + sigma R), so |z - (c + sigma E_alg)| <=
 *     tau_f = 2^-53 (4 sigma R + |c|). Z* = c + sigma E_alg has a unimodal density <= pMax =
 *     1 / (sigma sqrt(2 pi)) (times 1 + 1e-11), and the boundaries are h apart, so
 *     P[some boundary within tau of Z*] <= (2 tau / h) (1 + 3 h pMax).
 *     Tail (|g| >= R): a = -log(u) / R with u = (k + 0.5) 2^-52; a boundary separates the exact
 *     a(u) from a(U) only if its preimage lies in U's 2^-52 cell, 2^-52 per boundary, and at most
 *     10.7 sigma / h + 2 boundaries lie in reach (a <= 36.8 / R); the float ops (log within 2 ulp)
 *     add tau_t = 2^-51 (4 sigma (R + 10.7) + |c|), charged only on the tail region's mass
 *     2 Phi(-R) < 5.8e-4 plus 2 h pMax, as above.
 * Rounding (half up) and the clamp are boundaries like any other.
 */
export function samplerDeviation(sigma: number, grid: NoiseGrid, maxAbsCenter: number): number {
  const h = grid.step;
  const pMax = (1 + 1e-11) / (sigma * Math.sqrt(2 * Math.PI));
  const attempts = 1.02;
  const tailPath = (1 - kn[0] / MAG) / LAYERS + 1e-12;
  const decisions = attempts * (2 ** -52 + 7.1e-13 + tailPath * 2 * (2 ** -51 + 2 ** -43));
  const tauF = 2 ** -53 * (4 * sigma * R + maxAbsCenter);
  const fast = ((2 * tauF) / h) * (1 + 3 * h * pMax);
  const tauT = 2 ** -51 * (4 * sigma * (R + 10.7) + maxAbsCenter);
  const tailCells = attempts * tailPath * 2 * ((10.7 * sigma) / h + 2) * 2 ** -52;
  const tailRounding = ((2 * tauT) / h) * (5.8e-4 + 3 * h * pMax);
  return TABLE_DEVIATION + decisions + fast + tailCells + tailRounding;
}

/** The seed of lane `lane` of the stream whose seed is h. */
function laneSeed(h: number, lane: number): number {
  return mix32(h ^ 0x6a09e667 ^ Math.imul(lane + 1, 0x9e3779b9));
}

/** xoshiro128** state from a 32-bit seed, written to out[offset + k * stride], k = 0..3. */
function expandState(h: number, out: Int32Array, offset: number, stride: number): void {
  out[offset] = mix32(h + 0x9e3779b9);
  out[offset + stride] = mix32(h + 0x3c6ef372);
  out[offset + 2 * stride] = mix32(h + 0xdaa66d2b);
  out[offset + 3 * stride] = mix32(h + 0x78dde6e4) | 1;
}

/** The WebAssembly hot loop, compiled on first use. */
let kernel: NoiseKernel | undefined;

/** SplitMix32-style finaliser (Murmur3 fmix32), used only to expand seeds into generator state. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

export class GaussianRng {
  /** xoshiro128** state of the scalar generator (nextGaussian, nextUniform, nextBelow) */
  private readonly s = new Int32Array(4);
  /** the noise lanes' states, transposed as noise-kernel.wat keeps them (s0 of every lane, s1, ...) */
  private readonly lanes = new Int32Array(4 * LANES);

  /**
   * @param seed run seed (any safe integer)
   * @param stream stream id, e.g. the input's index in its data set: distinct streams are independent
   * @param lane with a lane number (0 to LANES - 1), the scalar generator is that lane of
   *   `fillNoisy`'s (for tests and reference implementations)
   */
  constructor(seed: number, stream = 0, lane?: number) {
    if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(stream)) {
      throw new RangeError(`seed and stream must be integers, got ${seed} and ${stream}`);
    }
    if (lane !== undefined && !(Number.isInteger(lane) && lane >= 0 && lane < LANES)) {
      throw new RangeError(`lane must be an integer from 0 to ${LANES - 1}, got ${lane}`);
    }
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 2 ** 32) >>> 0;
    let h = mix32(lo ^ 0x9e3779b9);
    h = mix32(h ^ hi ^ 0x7f4a7c15);
    h = mix32(h ^ (stream >>> 0) ^ 0x632be5ab);
    h = mix32(h ^ (Math.floor(stream / 2 ** 32) >>> 0) ^ 0x85157af5);
    expandState(lane === undefined ? h : laneSeed(h, lane), this.s, 0, 1);
    for (let l = 0; l < LANES; l++) expandState(laneSeed(h, l), this.lanes, l, LANES);
  }

  /** Next uniform 32-bit integer (as a signed int32). */
  nextInt32(): number {
    return next32(this.s);
  }

  /** Uniform on the open interval (0, 1): (k + 0.5) / 2^52, k a uniform 52-bit integer. */
  nextUniform(): number {
    return uniform52(this.s);
  }

  /** A standard normal draw. */
  nextGaussian(): number {
    const u = next32(this.s);
    const m = (u >>> 8) * 2 ** 28 + (next32(this.s) >>> 4);
    const iz = u & (LAYERS - 1);
    const negative = (u & LAYERS) !== 0;
    if (m < kn[iz]) return negative ? -(m + 0.5) * wn[iz] : (m + 0.5) * wn[iz];
    return slowPath(this.s, m, iz, negative);
  }

  /**
   * out[offset + s * stride + i] = Q(center[i] + sigma * N(0, 1)) for i < center.length and
   * s < count: `count` noisy samples on the grid (see the module comment), drawn in order,
   * coordinate i by lane i mod LANES exactly as that lane's `nextGaussian` draws it; a sample of d
   * coordinates takes ceil(d / LANES) draws from every lane. Runs noise-kernel.wat (a test checks
   * that it gives the same bits as the scalar lanes).
   */
  fillNoisy(
    out: Float32Array,
    offset: number,
    center: Float32Array,
    sigma: number,
    grid: NoiseGrid,
    count = 1,
    stride = center.length,
  ): void {
    kernel ??= new NoiseKernel({ kn, wn, slow: slowPath });
    kernel.fill(this.lanes, out, offset, stride, count, center, sigma, grid);
  }

  /** Random integer in [0, bound). */
  nextBelow(bound: number): number {
    return Math.floor(this.nextUniform() * bound);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** xoshiro128** step on the state s: the next uniform 32-bit integer (as a signed int32). */
function next32(s: Int32Array): number {
  const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9);
  const t = s[1] << 9;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 11);
  return result | 0;
}

/** Uniform on the open interval (0, 1): (k + 0.5) / 2^52, k a uniform 52-bit integer. */
function uniform52(s: Int32Array): number {
  const a = next32(s) >>> 6;
  const b = next32(s) >>> 6;
  return (a * 2 ** 26 + b + 0.5) / MAG;
}

/**
 * The wedges and the tail: the ~1% of draws the fast test does not accept. A function of its own
 * (not a method, state in a typed array) so that the hot loop's compiled code does not depend on it.
 */
function slowPath(s: Int32Array, m: number, iz: number, negative: boolean): number {
  for (;;) {
    if (iz === 0) {
      let a: number;
      let b: number;
      do {
        a = -Math.log(uniform52(s)) / R;
        b = -Math.log(uniform52(s));
      } while (b + b < a * a);
      return negative ? -R - a : R + a;
    }
    const x = (m + 0.5) * wn[iz];
    if (fn[iz] + uniform52(s) * (fn[iz - 1] - fn[iz]) < Math.exp(-0.5 * x * x)) return negative ? -x : x;
    const u = next32(s);
    m = (u >>> 8) * 2 ** 28 + (next32(s) >>> 4);
    iz = u & (LAYERS - 1);
    negative = (u & LAYERS) !== 0;
    if (m < kn[iz]) return negative ? -(m + 0.5) * wn[iz] : (m + 0.5) * wn[iz];
  }
}
