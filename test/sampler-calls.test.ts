/**
 * Model call sizes: the sampler splits noisy samples into calls of whole samples, within the cap
 * and the memory budget, measured on the first calls (src/sampling/call-size.ts), and the votes do
 * not depend on how samples are grouped into calls or steps.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GaussianRng, noiseGrid } from '../src/core/rng.js';
import type { Classifier } from '../src/models/classifier.js';
import { CallSizer } from '../src/sampling/call-size.js';
import { Sampler } from '../src/sampling/sampler.js';
import { PatchReducer } from '../src/reduce/reducer.js';
import { defaultSmoothingOptions } from '../src/options.js';
import { linearClassifier } from './helpers/linear-classifier.js';

const side = 6;
const w = Float32Array.from({ length: side * side }, (_, i) => Math.sin(i + 1));

/** The linear classifier, recording every call's size; `arena` simulates ORT's memory (bytes per input of the largest call). */
function recording(arenaBytesPerInput = 0): Classifier & { calls: number[] } {
  const f = linearClassifier(w, 0.05, side);
  const calls: number[] = [];
  let largest = 0;
  return {
    inputShape: f.inputShape,
    numClasses: f.numClasses,
    calls,
    run(batch, count) {
      calls.push(count);
      largest = Math.max(largest, count);
      return f.run(batch, count);
    },
    memoryInUse: () => 1e8 + largest * arenaBytesPerInput,
  };
}

async function countVotes(
  f: Classifier,
  method: 'rs' | 'mean',
  batch: number,
  maxCallInputs: number,
  num: number,
  callMemory?: number,
) {
  const inputShape = { channels: 1, height: 4, width: 4 };
  const reducer = new PatchReducer(
    { ...defaultSmoothingOptions, method, resize: { height: side + 2, width: side + 2 }, stride: 1 },
    method === 'rs' ? f.inputShape : inputShape,
    f.inputShape,
  );
  const x = Float32Array.from({ length: method === 'rs' ? side * side : 16 }, (_, i) => ((i * 7) % 5) / 10);
  const plan = reducer.prepare(x, 3);
  const sampler = new Sampler(f, {
    batch,
    reduction: 'mean',
    aggregate: 'logits',
    grid: noiseGrid([0, 1], 0.5),
    maxCallInputs,
    callMemory,
  });
  const votes = sampler.votes(plan, 0.5, new GaussianRng(9, 3));
  const counts = [Array.from(await votes(37)), Array.from(await votes(1000))];
  return { counts, copies: plan.copies, sizer: sampler.sizerFor(plan.copies) };
}

describe('sampler: model call sizes', () => {
  it('sends whole samples (split only when one exceeds the cap), never more inputs per call than the cap, and the same votes for any cap and batch', async () => {
    for (const method of ['rs', 'mean'] as const) {
      const reference = await countVotes(recording(), method, 1, 1, 1037);
      for (const [batch, cap] of [
        [400, 7],
        [3, 50],
        [2000, 8192],
      ]) {
        const f = recording();
        const r = await countVotes(f, method, batch, cap, 1037);
        assert.deepEqual(r.counts, reference.counts, `${method}, batch ${batch}, cap ${cap}`);
        assert.equal(
          f.calls.reduce((a, b) => a + b, 0),
          1037 * r.copies,
        );
        const limit = Math.max(r.copies, Math.floor(cap / r.copies) * r.copies);
        for (const c of f.calls) {
          // a sample larger than the cap is split over calls (reduced as they come), else kept whole
          if (r.copies <= cap)
            assert.equal(c % r.copies, 0, `a call of ${c} inputs splits a sample of ${r.copies}`);
          assert.ok(c <= Math.min(limit, cap), `a call of ${c} inputs exceeds the cap ${cap}`);
        }
      }
    }
  });

  it('keeps calls within the memory budget, measured from the memory the calls add', async () => {
    // 1 MiB per model input: a 16 MiB budget allows 16 inputs per call
    const f = recording(2 ** 20);
    const r = await countVotes(f, 'mean', 400, 8192, 1037, 16 * 2 ** 20);
    assert.equal(r.copies, 9);
    // the first call is one sample (9 inputs); the next rung (18 inputs) would exceed the budget
    assert.ok(Math.max(...f.calls) <= 16, `calls of ${Math.max(...f.calls)} inputs`);
    assert.ok(r.sizer.isSettled);
    // without the measurement (no memoryInUse) the same budget would allow far larger calls
    const blind = recording(2 ** 20);
    delete (blind as Partial<Classifier>).memoryInUse;
    await countVotes(blind, 'mean', 400, 8192, 1037, 16 * 2 ** 20);
    assert.ok(Math.max(...blind.calls) > 16);
  });
});

describe('CallSizer: the ladder', () => {
  /** Feeds `sizer` full calls whose throughput (samples/s) is `rate(samples)` until it settles. */
  function climb(sizer: CallSizer, rate: (samples: number) => number): number[] {
    const tried: number[] = [];
    for (let i = 0; i < 100 && !sizer.isSettled; i++) {
      const s = sizer.samples;
      if (tried.at(-1) !== s) tried.push(s);
      sizer.record(s, s / rate(s));
    }
    return tried;
  }
  const base = { copies: 1, memoryBudget: 2 ** 40, maxInputs: 8192, ownBytesPerInput: 4, floorInputs: 32 };

  it('stops when the throughput falls and keeps the smallest size near the best', () => {
    // a light model: fastest at 256 inputs per call, much slower beyond
    const sizer = new CallSizer(base);
    const tried = climb(sizer, (s) => (s <= 256 ? 1000 * (1 - 8 / s) : 1000 * (256 / s)));
    assert.deepEqual(tried, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]);
    assert.equal(sizer.samples, 256);
  });

  it('climbs to the cap on a model that gains with the call size, and settles on the first size within tolerance', () => {
    const sizer = new CallSizer({ ...base, copies: 9, maxInputs: 4096 });
    const tried = climb(sizer, (s) => 1000 * (1 - 1 / s));
    // samples per call: doubling from 1 up to floor(4096 / 9); timed from 4 (36 inputs >= 32)
    assert.deepEqual(tried, [1, 2, 4, 8, 16, 32, 64, 128, 256, 455]);
    assert.equal(sizer.samples, 32);
  });

  it('does not time calls of another size (the tail of a request), nor small ones', () => {
    const sizer = new CallSizer(base);
    sizer.record(5, 1e-9);
    assert.equal(sizer.samples, 1);
    // a noisy timing below the floor changes nothing: the ladder climbs on
    const tried = climb(sizer, (s) => (s === 2 ? 1 : 1000 * (1 - 1 / s)));
    assert.equal(tried[1], 2);
    assert.ok(sizer.samples >= 32);
  });
});
