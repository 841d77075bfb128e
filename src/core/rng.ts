/**
 * Seeded Gaussian noise for the sampling hot path.
 *
 * xoshiro128** (Blackman and Vigna) gives 32-bit uniforms with nothing but 32-bit integer ops, and
 * the Marsaglia-Tsang ziggurat (J. Stat. Softw. 5(8), 2000, 128 layers) turns one uniform into a
 * standard normal on ~99% of draws. The layer index and the magnitude come from disjoint bits of
 * the uniform (the original shares them). Every stream is a pure function of (seed, stream id), so
 * an input's noise does not depend on batch size, order, resumption or sharding.
 */

const LAYERS = 128;
const SCALE = 2 ** 24; // magnitude bits: the signed top 25 bits of the uniform
const R = 3.442619855899;
const V = 9.91256303526217e-3;

const kn = new Int32Array(LAYERS);
const wn = new Float64Array(LAYERS);
const fn = new Float64Array(LAYERS);
{
  let dn = R;
  let tn = dn;
  const q = V / Math.exp(-0.5 * dn * dn);
  kn[0] = Math.floor((dn / q) * SCALE);
  kn[1] = 0;
  wn[0] = q / SCALE;
  wn[LAYERS - 1] = dn / SCALE;
  fn[0] = 1;
  fn[LAYERS - 1] = Math.exp(-0.5 * dn * dn);
  for (let i = LAYERS - 2; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(V / dn + Math.exp(-0.5 * dn * dn)));
    kn[i + 1] = Math.floor((dn / tn) * SCALE);
    tn = dn;
    fn[i] = Math.exp(-0.5 * dn * dn);
    wn[i] = dn / SCALE;
  }
}

/** SplitMix32-style finaliser (Murmur3 fmix32), used only to expand seeds into generator state. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

export class GaussianRng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /**
   * @param seed run seed (any safe integer)
   * @param stream stream id, e.g. the input's index in its data set: distinct streams are independent
   */
  constructor(seed: number, stream = 0) {
    if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(stream)) {
      throw new RangeError(`seed and stream must be integers, got ${seed} and ${stream}`);
    }
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 2 ** 32) >>> 0;
    let h = mix32(lo ^ 0x9e3779b9);
    h = mix32(h ^ hi ^ 0x7f4a7c15);
    h = mix32(h ^ (stream >>> 0) ^ 0x632be5ab);
    h = mix32(h ^ (Math.floor(stream / 2 ** 32) >>> 0) ^ 0x85157af5);
    this.s0 = mix32(h + 0x9e3779b9);
    this.s1 = mix32(h + 0x3c6ef372);
    this.s2 = mix32(h + 0xdaa66d2b);
    this.s3 = mix32(h + 0x78dde6e4) | 1;
  }

  /** Next uniform 32-bit integer (as a signed int32). */
  nextInt32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9);
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result | 0;
  }

  /** Uniform on the open interval (0, 1), 24-bit resolution. */
  nextUniform(): number {
    return ((this.nextInt32() >>> 8) + 0.5) / SCALE;
  }

  /** A standard normal draw. */
  nextGaussian(): number {
    const u = this.nextInt32();
    const iz = u & (LAYERS - 1);
    const hz = u >> 7;
    if ((hz < 0 ? -hz : hz) < kn[iz]) return hz * wn[iz];
    return this.tail(hz, iz);
  }

  /**
   * out[offset + i] = center[i] + sigma * N(0, 1) for i < center.length: one noisy sample.
   */
  fillNoisy(out: Float32Array, offset: number, center: Float32Array, sigma: number): void {
    // The generator state lives in locals for the loop: V8 keeps them in registers.
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    let s3 = this.s3;
    const n = center.length;
    for (let i = 0; i < n; i++) {
      const u = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      const iz = u & (LAYERS - 1);
      const hz = u >> 7;
      let g: number;
      if ((hz < 0 ? -hz : hz) < kn[iz]) {
        g = hz * wn[iz];
      } else {
        this.s0 = s0;
        this.s1 = s1;
        this.s2 = s2;
        this.s3 = s3;
        g = this.tail(hz, iz);
        s0 = this.s0;
        s1 = this.s1;
        s2 = this.s2;
        s3 = this.s3;
      }
      out[offset + i] = center[i] + sigma * g;
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
  }

  /** Random integer in [0, bound). */
  nextBelow(bound: number): number {
    return Math.floor(this.nextUniform() * bound);
  }

  private tail(hz: number, iz: number): number {
    for (;;) {
      const x = hz * wn[iz];
      if (iz === 0) {
        let a: number;
        let b: number;
        do {
          a = -Math.log(this.nextUniform()) / R;
          b = -Math.log(this.nextUniform());
        } while (b + b < a * a);
        return hz > 0 ? R + a : -R - a;
      }
      if (fn[iz] + this.nextUniform() * (fn[iz - 1] - fn[iz]) < Math.exp(-0.5 * x * x)) return x;
      const u = this.nextInt32();
      iz = u & (LAYERS - 1);
      hz = u >> 7;
      if ((hz < 0 ? -hz : hz) < kn[iz]) return hz * wn[iz];
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
