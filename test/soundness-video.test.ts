/**
 * Soundness of video certificates (spec, section 3, "Video windows") against a linear video
 * classifier whose exact robust radius is known. The base classifier scores a window of L frames
 * with f(v) = [w.v + b > 0]. Smooth-Mean over the windows W_1..W_k reduces the logits to
 * u.x + b + (noise term) with u = mean_i W_i^T w, in both noise modes, so the smoothed classifier is
 * g(x) = [u.x + b > 0] and the exact input-space radius is |u.x + b| / ||u||. Correlated noise
 * certifies directly in the clip's space (norm 1); uncorrelated noise certifies in the space of the
 * stacked windows and must divide by sqrt(max number of windows covering a frame).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkAgainstLinearTruth } from './helpers/soundness.js';
import { GaussianRng } from '../src/core/rng.js';
import type { Shape3 } from '../src/core/shape.js';
import type { Classifier } from '../src/models/classifier.js';
import type { NoiseMode } from '../src/reduce/reducer.js';
import { SmoothedClassifier, defaultSmoothingOptions } from '../src/smoothed-classifier.js';

const clip: Shape3 = { channels: 1, frames: 6, height: 2, width: 2 };
const window: Shape3 = { channels: 1, frames: 3, height: 2, width: 2 };
const plane = 4;
const windowSize = 12;

function linearWindowClassifier(w: Float64Array, b: number): Classifier {
  return {
    inputShape: window,
    numClasses: 2,
    async run(batch, count) {
      const out = new Float32Array(count * 2);
      for (let s = 0; s < count; s++) {
        let z = b;
        for (let i = 0; i < windowSize; i++) z += w[i] * batch[s * windowSize + i];
        out[2 * s + 1] = z;
      }
      return out;
    },
  };
}

const cases: { method: 'rs' | 'mean'; noise: NoiseMode; norm: number; minMeanRatio: number }[] = [
  // one window (frames 2-4, --window-offset 2): the window's radius holds for the clip
  { method: 'rs', noise: 'correlated', norm: 1, minMeanRatio: 0.75 },
  // 4 windows at stride 1 on 6 frames: coverage 1, 2, 3, 3, 2, 1, so ||T|| = sqrt(3) for uncorrelated
  { method: 'mean', noise: 'correlated', norm: 1, minMeanRatio: 0.75 },
  { method: 'mean', noise: 'uncorrelated', norm: Math.sqrt(3), minMeanRatio: 0.6 },
];

for (const { method, noise, norm, minMeanRatio } of cases) {
  test(`soundness, video ${method === 'rs' ? 'RS on one window' : `Smooth-Mean with ${noise} noise`}: input-space radii respect the exact radius`, async () => {
    const rngW = new GaussianRng(21, 0);
    const w = new Float64Array(windowSize).map(() => 1 + 0.5 * rngW.nextGaussian());
    const b = -w.reduce((a, v) => a + v, 0) / 2;
    const f = linearWindowClassifier(w, b);
    const alpha = 0.01;
    const g = new SmoothedClassifier(f, clip, {
      ...defaultSmoothingOptions,
      method,
      noise,
      windowStride: 1,
      windowOffset: method === 'rs' ? 2 : undefined,
      sigma: 0.25,
      n0: 50,
      n: 4000,
      alpha,
      batch: 500,
    });
    assert.ok(
      Math.abs(g.reducer.fixedNoiseScale! - norm) < 1e-9,
      `norm ${g.reducer.fixedNoiseScale} vs ${norm}`,
    );
    const starts = method === 'rs' ? [2] : [0, 1, 2, 3];
    // u = mean_i W_i^T w on the clip (C x T x H x W, one channel)
    const u = new Float64Array(clip.frames! * plane);
    for (const s of starts) for (let i = 0; i < windowSize; i++) u[s * plane + i] += w[i] / starts.length;
    const trials = 80;
    const { unsoundIfIgnored } = await checkAgainstLinearTruth(g, u, b, {
      seed: 22,
      stream: 0,
      trials,
      alpha,
      minMeanRatio,
    });
    if (noise === 'uncorrelated')
      assert.ok(
        unsoundIfIgnored > trials / 4,
        `a certifier ignoring the window-coverage norm would violate only ${unsoundIfIgnored} times`,
      );
  });
}
