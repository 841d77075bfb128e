/** The temporal reducer: window positions, caps, layouts, norms and the refusals of bad geometry. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../src/core/errors.js';
import type { Shape3 } from '../src/core/shape.js';
import { defaultSmoothingOptions as defaultReduceOptions } from '../src/options.js';
import { createReducer, type ReduceOptions } from '../src/reduce/reducer.js';
import { WindowReducer, maxCoverage, windowIndices, windowStarts } from '../src/reduce/window-reducer.js';

const clip: Shape3 = { channels: 2, frames: 10, height: 3, width: 3 };
const model: Shape3 = { channels: 2, frames: 4, height: 3, width: 3 };
const o = (extra: Partial<ReduceOptions>): ReduceOptions => ({
  ...defaultReduceOptions,
  method: 'mean',
  ...extra,
});

test('window starts: stride, default chunks, cap spread evenly, rs middle window or offset', () => {
  assert.deepEqual(windowStarts(10, 4, o({ windowStride: 2 })), [0, 2, 4, 6]);
  assert.deepEqual(windowStarts(10, 4, o({})), [0, 4]);
  assert.deepEqual(windowStarts(32, 8, o({ windowStride: 4 })), [0, 4, 8, 12, 16, 20, 24]);
  assert.deepEqual(windowStarts(32, 8, o({ windowStride: 4, maxWindows: 3 })), [0, 12, 24]);
  assert.deepEqual(windowStarts(32, 8, o({ method: 'rs', windowStride: 4 })), [12]);
  assert.deepEqual(windowStarts(10, 4, o({ method: 'rs' })), [3]);
  assert.deepEqual(windowStarts(32, 8, o({ method: 'rs', windowOffset: 5 })), [5]);
  assert.equal(maxCoverage([0, 4, 8, 12, 16, 20, 24], 8), 2);
  assert.equal(maxCoverage([0, 1, 2, 3], 3), 3);
});

test('windows are gathered in the model layout: NCTHW and NTCHW', () => {
  const plane = 9;
  const value = (c: number, t: number, i: number) => (c * 10 + t) * plane + i;
  const ncthw = windowIndices([3], clip, 4, 'NCTHW');
  const ntchw = windowIndices([3], clip, 4, 'NTCHW');
  for (let c = 0; c < 2; c++)
    for (let t = 0; t < 4; t++)
      for (let i = 0; i < plane; i++) {
        assert.equal(ncthw[(c * 4 + t) * plane + i], value(c, 3 + t, i));
        assert.equal(ntchw[(t * 2 + c) * plane + i], value(c, 3 + t, i));
      }
});

test('plans: the smoothing space and norm of each noise mode', () => {
  const x = new Float32Array(2 * 10 * 9).map((_, i) => i);
  const correlated = createReducer(o({ windowStride: 2 }), clip, { inputShape: model });
  assert.ok(correlated instanceof WindowReducer);
  const pc = correlated.prepare(x, 0);
  assert.equal(pc.center, x);
  assert.deepEqual([pc.copies, pc.noiseScale, pc.windows], [4, 1, [0, 2, 4, 6]]);
  const uncorrelated = createReducer(o({ windowStride: 2, noise: 'uncorrelated' }), clip, {
    inputShape: model,
  });
  const pu = uncorrelated.prepare(x, 0);
  assert.equal(pu.center.length, 4 * 2 * 4 * 9);
  assert.ok(pu.gather.isIdentity);
  assert.ok(Math.abs(pu.noiseScale - Math.sqrt(2)) < 1e-9 && pu.noiseScale >= Math.sqrt(2));
  // the gathered model inputs are the same in both modes before noise
  const viaGather = new Float32Array(pc.gather.rows);
  pc.gather.apply(pc.center, 0, viaGather, 0);
  assert.deepEqual(viaGather, pu.center);
  const rs = createReducer(o({ method: 'rs' }), clip, { inputShape: model, layout: 'NTCHW' });
  const pr = rs.prepare(x, 0);
  assert.deepEqual([pr.copies, pr.noiseScale, pr.windows, pr.center.length], [1, 1, [3], 72]);
  assert.equal(pr.center[0], x[(0 * 10 + 3) * 9]);
  assert.equal(pr.center[9], x[(1 * 10 + 3) * 9]);
});

test('bad geometry is refused with one line before any sampling', () => {
  const refuse = (f: () => unknown, re: RegExp) =>
    assert.throws(
      f,
      (e: Error) => e instanceof UsageError && re.test(e.message) && !e.message.includes('\n'),
    );
  const make = (opts: Partial<ReduceOptions>, data = clip, m = model) =>
    createReducer(o(opts), data, { inputShape: m });
  refuse(() => make({}, { ...clip, frames: 3 }), /window of 4 frames is longer than the clip \(--frames 3\)/);
  refuse(() => make({ windowStride: 0 }), /--window-stride must be a whole number >= 1, got 0/);
  refuse(() => make({ maxWindows: 0 }), /--max-windows/);
  refuse(() => make({ window: 8 }), /--window 8, but the model takes windows of 4 frames/);
  refuse(
    () => make({}, { ...clip, height: 4, width: 4 }),
    /frames are 4x4 but the model takes 3x3; pass --size 3/,
  );
  refuse(() => make({}, { ...clip, channels: 3 }), /3 channel\(s\) but the model takes 2/);
  refuse(() => make({ method: 'rs', windowOffset: 7 }), /--window-offset must be a start frame in \[0, 6\]/);
  refuse(() => make({ windowOffset: 1 }), /--window-offset picks the one window of --method rs/);
  refuse(() => make({ noise: 'input' }), /--noise input applies to resized images/);
  refuse(
    () => make({}, { channels: 2, height: 3, width: 3 }),
    /model takes video windows .* data holds images/,
  );
  refuse(
    () => make({}, clip, { channels: 2, height: 3, width: 3 }),
    /data holds video clips .* model takes images/,
  );
  refuse(
    () =>
      make({ windowStride: 2 }, { channels: 2, height: 3, width: 3 }, { channels: 2, height: 3, width: 3 }),
    /windowStride applies to video models only/,
  );
});
