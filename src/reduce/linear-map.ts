/**
 * A sparse linear map with the same number of taps in every output row:
 * out[r] = sum_t weight[r * taps + t] * in[index[r * taps + t]].
 * Resizing (bilinear: 4 taps, nearest: 1), patch extraction (1 tap) and their compositions all
 * have this form, so one tight loop serves every reducer's gather step.
 */
export class LinearMap {
  constructor(
    readonly rows: number,
    readonly cols: number,
    readonly taps: number,
    readonly index: Int32Array,
    /** float32 for maps the sampler applies; float64 for maps only analysed (exact 1-D resize weights) */
    readonly weight: Float32Array | Float64Array,
    /** true for maps built by LinearMap.identity: callers may skip applying them */
    readonly isIdentity = false,
  ) {
    if (index.length !== rows * taps || weight.length !== rows * taps) {
      throw new Error(`LinearMap: expected ${rows * taps} taps, got ${index.length}/${weight.length}`);
    }
  }

  static identity(size: number): LinearMap {
    const index = new Int32Array(size);
    for (let i = 0; i < size; i++) index[i] = i;
    return new LinearMap(size, size, 1, index, new Float32Array(size).fill(1), true);
  }

  /** Rows of this map, in the given order (a selection of outputs). */
  selectRows(rows: ArrayLike<number>): LinearMap {
    const t = this.taps;
    const index = new Int32Array(rows.length * t);
    const weight =
      this.weight instanceof Float64Array
        ? new Float64Array(rows.length * t)
        : new Float32Array(rows.length * t);
    for (let r = 0; r < rows.length; r++) {
      index.set(this.index.subarray(rows[r] * t, rows[r] * t + t), r * t);
      weight.set(this.weight.subarray(rows[r] * t, rows[r] * t + t), r * t);
    }
    return new LinearMap(rows.length, this.cols, t, index, weight);
  }

  /**
   * out[outOffset + r - first] = (M in)[r] for the input vector starting at inOffset, for the rows
   * r in [first, end) (default: all rows).
   */
  apply(
    input: Float32Array,
    inOffset: number,
    out: Float32Array,
    outOffset: number,
    first = 0,
    end = this.rows,
  ): void {
    const { taps, index, weight } = this;
    outOffset -= first;
    if (taps === 1) {
      for (let r = first; r < end; r++) out[outOffset + r] = weight[r] * input[inOffset + index[r]];
      return;
    }
    for (let r = first, k = first * taps; r < end; r++) {
      let acc = 0;
      for (let t = 0; t < taps; t++, k++) acc += weight[k] * input[inOffset + index[k]];
      out[outOffset + r] = acc;
    }
  }

  /**
   * An upper bound on ||out - M x||_2, where `out` = fl32(M x) was written by `apply` and M x is the
   * exact product (float32 weights and inputs as real numbers). Each row's products are exact in
   * float64 (24 + 24 bits) and their sum of `taps` terms is within (taps - 1) 2^-53 sum |w x| of
   * the exact sum; the final square root and sums add a relative 2^-48 at most.
   */
  roundingError(input: Float32Array, out: Float32Array): number {
    let sum = 0;
    for (let r = 0, k = 0; r < this.rows; r++) {
      let acc = 0;
      let abs = 0;
      for (let t = 0; t < this.taps; t++, k++) {
        const p = this.weight[k] * input[this.index[k]];
        acc += p;
        abs += Math.abs(p);
      }
      const e = Math.abs(out[r] - acc) + this.taps * 2 ** -53 * abs;
      sum += e * e;
    }
    return Math.sqrt(sum) * (1 + 2 ** -48);
  }

  /** Float64 M x, for analysis (operator norms). */
  mul(x: Float64Array, out: Float64Array): void {
    out.fill(0);
    for (let r = 0, k = 0; r < this.rows; r++) {
      let acc = 0;
      for (let t = 0; t < this.taps; t++, k++) acc += this.weight[k] * x[this.index[k]];
      out[r] = acc;
    }
  }

  /** Float64 M^T y. */
  mulTransposed(y: Float64Array, out: Float64Array): void {
    out.fill(0);
    for (let r = 0, k = 0; r < this.rows; r++) {
      for (let t = 0; t < this.taps; t++, k++) out[this.index[k]] += this.weight[k] * y[r];
    }
  }

  /** True when every weight is >= 0 (the Collatz-Wielandt bound of operatorNorm needs it). */
  isNonNegative(): boolean {
    return this.weight.every((w) => w >= 0);
  }
}
