/**
 * Smooth-Reduce's reduction of k per-patch outputs to one vote: max or mean, over raw logits or
 * over softmax probabilities (Joshi et al. 2022, Section 3). With k = 1 every choice is the argmax.
 * An aggregator may read only some of a sample's k outputs (`patches`: their indices), so that one
 * set of model outputs also gives the votes of a smaller patch set (4 of 9 patches, the centre one).
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
