/**
 * Smooth-Reduce's reduction of k per-patch outputs to one vote: max or mean, over raw logits or
 * over softmax probabilities (Joshi et al. 2022, Section 3). With k = 1 every choice is the argmax.
 */
export type Reduction = 'max' | 'mean';
export type AggregateOver = 'logits' | 'softmax';

export class Aggregator {
  private readonly reduced: Float64Array;
  private readonly probs: Float64Array;

  constructor(
    readonly numClasses: number,
    readonly reduction: Reduction,
    readonly over: AggregateOver,
  ) {
    this.reduced = new Float64Array(numClasses);
    this.probs = new Float64Array(numClasses);
  }

  /** The vote of one noisy sample: argmax over classes of reduce_i out_i, for rows [row, row + k). */
  vote(outputs: Float32Array, row: number, k: number): number {
    const C = this.numClasses;
    const red = this.reduced;
    red.fill(this.reduction === 'max' ? -Infinity : 0);
    for (let i = 0; i < k; i++) {
      const base = (row + i) * C;
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
