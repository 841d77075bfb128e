/**
 * Smooth-Reduce's reduction of k per-patch outputs to one vote: max or mean, over raw logits or
 * over softmax probabilities (Joshi et al. 2022, Section 3). With k = 1 every choice is the argmax.
 * An aggregator may read only some of a sample's k outputs (`patches`: their indices), so that one
 * set of model outputs also gives the votes of a smaller patch set (4 of 9 patches, the centre one).
 * With a subset, `begin` / `add` / `end` (a sample in parts) visit its patches in index order, the
 * order `vote` visits them in when `patches` is ascending (as companions' grid subsets are).
 */
export type Reduction = 'max' | 'mean';
export type AggregateOver = 'logits' | 'softmax';

export class Aggregator {
  private readonly reduced: Float64Array;
  private readonly probs: Float64Array;
  private readonly patches: Int32Array | null;

  /** @param patches the indices, among a sample's k outputs, this aggregator reduces (default: all k) */
  constructor(
    readonly numClasses: number,
    readonly reduction: Reduction,
    readonly over: AggregateOver,
    patches?: readonly number[],
  ) {
    this.reduced = new Float64Array(numClasses);
    this.probs = new Float64Array(numClasses);
    this.patches = patches ? Int32Array.from(patches) : null;
  }

  /**
   * The vote of one noisy sample: argmax over classes of reduce_i out_i, for the rows
   * [row, row + k) (or the rows row + patches[j]).
   */
  vote(outputs: Float32Array, row: number, k: number): number {
    const C = this.numClasses;
    const red = this.reduced;
    const patches = this.patches;
    red.fill(this.reduction === 'max' ? -Infinity : 0);
    const count = patches ? patches.length : k;
    for (let j = 0; j < count; j++) {
      const base = (row + (patches ? patches[j] : j)) * C;
      const values = this.over === 'softmax' ? this.softmax(outputs, base) : null;
      for (let c = 0; c < C; c++) {
        const v = values ? values[c] : outputs[base + c];
        if (this.reduction === 'max') {
          if (v > red[c]) red[c] = v;
        } else red[c] += v;
      }
    }
    let best = 0;
    for (let c = 1; c < C; c++) if (red[c] > red[best]) best = c;
    return best;
  }

  /**
   * The vote of one noisy sample whose k outputs come in parts (a sample split over model calls):
   * `begin()`, then `add` for each part, in order, then `end()`. The same vote as `vote` on all k
   * rows: each class's value is reduced over the same rows in the same order.
   */
  begin(): void {
    this.reduced.fill(this.reduction === 'max' ? -Infinity : 0);
    if (this.patches && !this.member) {
      const max = this.patches.reduce((m, p) => Math.max(m, p), -1);
      this.member = new Uint8Array(max + 1);
      for (const p of this.patches) this.member[p] = 1;
    }
  }

  /** Adds the outputs `rows` rows from `row` on, which are the sample's outputs first..first+rows-1. */
  add(outputs: Float32Array, row: number, first: number, rows: number): void {
    const C = this.numClasses;
    const red = this.reduced;
    const member = this.member;
    for (let j = 0; j < rows; j++) {
      if (member && !member[first + j]) continue;
      const base = (row + j) * C;
      const values = this.over === 'softmax' ? this.softmax(outputs, base) : null;
      for (let c = 0; c < C; c++) {
        const v = values ? values[c] : outputs[base + c];
        if (this.reduction === 'max') {
          if (v > red[c]) red[c] = v;
        } else red[c] += v;
      }
    }
  }

  end(): number {
    const red = this.reduced;
    let best = 0;
    for (let c = 1; c < this.numClasses; c++) if (red[c] > red[best]) best = c;
    return best;
  }

  private member: Uint8Array | null = null;

  private softmax(outputs: Float32Array, base: number): Float64Array {
    const C = this.numClasses;
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, outputs[base + c]);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += this.probs[c] = Math.exp(outputs[base + c] - m);
    for (let c = 0; c < C; c++) this.probs[c] /= sum;
    return this.probs;
  }
}
