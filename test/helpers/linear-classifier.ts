/** A two-class linear classifier f(x) = [w.x + b > 0] in plain TypeScript (logits [0, w.x + b]). */
import type { Classifier } from '../../src/models/classifier.js';

export function linearClassifier(w: Float32Array, b: number, side: number): Classifier {
  return {
    inputShape: { channels: 1, height: side, width: side },
    numClasses: 2,
    async run(batch, count) {
      const out = new Float32Array(count * 2);
      for (let s = 0; s < count; s++) {
        let z = b;
        for (let i = 0; i < w.length; i++) z += w[i] * batch[s * w.length + i];
        out[2 * s + 1] = z;
      }
      return out;
    },
  };
}
