/**
 * SmoothedClassifier's run hooks (progress and cancellation, used by the server's workers and the
 * web page): they leave the certificate unchanged, report every chunk, and stop a run.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type SamplingProgress,
  SmoothedClassifier,
  defaultSmoothingOptions,
} from '../src/smoothed-classifier.js';
import { linearClassifier } from './helpers/linear-classifier.js';

const side = 6;
const w = Float32Array.from({ length: side * side }, (_, i) => ((i % 5) - 2) / 10);
const f = linearClassifier(w, 0.05, side);
const shape = f.inputShape;
const pixels = Float32Array.from({ length: side * side }, (_, i) => (i % 7) / 7);

describe('SmoothedClassifier hooks', () => {
  for (const method of ['rs', 'mean'] as const) {
    it(`${method}: progress in chunks, the same certificate and prediction as without hooks`, async () => {
      const options = { ...defaultSmoothingOptions, method, sigma: 0.5, n0: 30, n: 250, batch: 40, seed: 3 };
      const g = new SmoothedClassifier(f, shape, options);
      const plain = await g.certify({ pixels, index: 5 });
      const events: SamplingProgress[] = [];
      const observed = await g.certify(
        { pixels, index: 5 },
        { onProgress: (p) => events.push({ ...p, counts: p.counts.slice() }), chunk: 17 },
      );
      assert.deepEqual(observed, plain);
      const selection = events.filter((e) => e.phase === 'selection');
      const estimation = events.filter((e) => e.phase === 'estimation');
      assert.deepEqual(
        selection.map((e) => e.drawn),
        [17, 30],
      );
      assert.equal(estimation.length, Math.ceil(250 / 17));
      assert.equal(estimation.at(-1)!.drawn, 250);
      assert.deepEqual(estimation.at(-1)!.counts, plain.counts);
      assert.ok(estimation.every((e, k) => k === 0 || e.drawn > estimation[k - 1].drawn));
      const p = await g.predict({ pixels, index: 5 });
      assert.deepEqual(await g.predict({ pixels, index: 5 }, { onProgress: () => {}, chunk: 9 }), p);
    });
  }

  it('stops at the next chunk once the signal aborts', async () => {
    const g = new SmoothedClassifier(f, shape, { ...defaultSmoothingOptions, n0: 10, n: 10_000, batch: 50 });
    const controller = new AbortController();
    let chunks = 0;
    await assert.rejects(
      g.certify(
        { pixels },
        {
          signal: controller.signal,
          onProgress: () => {
            if (++chunks === 3) controller.abort(new Error('stop'));
          },
        },
      ),
      /stop/,
    );
    assert.equal(chunks, 3);
  });
});
