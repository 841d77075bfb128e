/**
 * `--call-memory` holds for any patch count (issue 24, point 4): a noisy sample of more model
 * inputs than fit one call is split over several calls and reduced as they come, with the same
 * votes; a budget that cannot hold one model input is refused with the memory it would need.
 * A guarded test, not a timed one: the model reports its memory as an ONNX Runtime arena would
 * (a fixed amount per model input of the largest call so far), and every call is checked.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../src/core/errors.js';
import type { Classifier } from '../src/models/classifier.js';
import { SmoothedClassifier, defaultSmoothingOptions } from '../src/smoothed-classifier.js';
import { linearClassifier } from './helpers/linear-classifier.js';

const MiB = 2 ** 20;
const side = 16;
/** 32 x 32 resized to 48, stride 1: 33 x 33 = 1,089 patches of 16 x 16 per noisy sample */
const input = {
  index: 0,
  label: 1,
  pixels: Float32Array.from({ length: 32 * 32 }, (_, i) => ((i * 13) % 17) / 16),
};
const shape = { channels: 1, height: 32, width: 32 };
const w = Float32Array.from({ length: side * side }, (_, i) => ((i * 7) % 5) - 2);

/** The linear model, with an arena of `perInput` bytes per input of the largest call, and its calls. */
function arenaModel(perInput: number): Classifier & { calls: number[] } {
  const f = linearClassifier(w, 0.3, side);
  const calls: number[] = [];
  let largest = 0;
  return {
    ...f,
    calls,
    async run(batch, count) {
      calls.push(count);
      largest = Math.max(largest, count);
      return f.run(batch, count);
    },
    memoryInUse: () => 500 * MiB + largest * perInput,
  };
}

const options = (callMemory: number) => ({
  ...defaultSmoothingOptions,
  method: 'mean' as const,
  resize: { height: 48, width: 48 },
  stride: 1,
  n0: 8,
  n: 40,
  alpha: 0.01,
  sigma: 0.25,
  seed: 3,
  batch: 16,
  callMemory,
});

test('a sample larger than the budget is split over calls that each fit, with the same certificate', async () => {
  // 100 kB per input: a 4 MiB budget holds 41 inputs, a sample has 1,089
  const perInput = 100_000;
  const budget = 4 * MiB;
  const limited = arenaModel(perInput);
  const g = new SmoothedClassifier(limited, shape, options(budget));
  assert.equal(g.reducer.geometry.copies, 1089);
  const split = await g.certify({ ...input, pixels: input.pixels.slice() });
  const largest = Math.max(...limited.calls);
  assert.ok(
    largest * perInput <= budget,
    `a call of ${largest} inputs needs ${((largest * perInput) / MiB).toFixed(1)} MiB, over the 4 MiB budget`,
  );
  assert.ok(limited.calls.length > 48, 'the samples were split');
  // the same votes as whole samples in calls as large as they come
  const whole = arenaModel(0);
  const reference = await new SmoothedClassifier(whole, shape, options(2 ** 40)).certify({
    ...input,
    pixels: input.pixels.slice(),
  });
  // (the first calls climb from one input: the sizer measures before it grows the calls)
  assert.ok(whole.calls.at(-1)! >= 1089, 'the reference calls end up holding whole samples');
  assert.deepEqual(split, reference);
});

test('a budget that cannot hold one model input is refused with the memory it would need', async () => {
  const g = new SmoothedClassifier(arenaModel(5 * MiB), shape, options(4 * MiB));
  await assert.rejects(
    g.certify({ ...input, pixels: input.pixels.slice() }),
    (e: Error) =>
      e instanceof UsageError &&
      /^--call-memory 4\.0 MiB cannot hold one model call: one model input needs about 5\.0 MiB; raise --call-memory to at least 5$/.test(
        e.message,
      ),
  );
  // the sampler's own buffers alone: refused when the classifier is set up, before any sampling
  const big = linearClassifier(new Float32Array(400 * 400), 0, 400);
  assert.throws(
    () => new SmoothedClassifier(big, big.inputShape, { ...options(MiB), method: 'rs', resize: undefined }),
    (e: Error) =>
      e instanceof UsageError &&
      /^--call-memory 1\.0 MiB cannot hold one model call: one model input needs about 1\.2 MiB/.test(
        e.message,
      ),
  );
});
