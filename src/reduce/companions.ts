/**
 * Companion configurations: Smooth-Reduce runs whose votes come from the same model calls as a
 * run's own. Smooth-Max and Smooth-Mean, logits and softmax, and a subset of the patches (4 of the
 * 9, the centre one alone) or of a clip's windows (correlated noise: one draw on the clip) differ
 * only in how a sample's k outputs are reduced, not in the noise or the inputs fed to the model,
 * so one pass certifies all of them; every companion's
 * certificate is the one a run of that configuration alone would give (same smoothing space,
 * same noise stream, same model outputs).
 */
import { UsageError } from '../core/errors.js';
import type { Shape3 } from '../core/shape.js';
import type { CompanionAggregate } from '../sampling/sampler.js';
import type { Reduction } from './aggregate.js';
import { PatchReducer, type ReduceOptions, type Reducer } from './reducer.js';
import { WindowReducer, windowStarts } from './window-reducer.js';

/** The options a companion may change; every other option is the run's own. */
export const COMPANION_KEYS = [
  'method',
  'aggregate',
  'stride',
  'maxPatches',
  'windowStride',
  'maxWindows',
] as const;

/** What a companion changes of the run's options. */
export type CompanionOverrides = Partial<Pick<ReduceOptions, (typeof COMPANION_KEYS)[number]>>;

/**
 * The aggregators that give each companion's votes from the outputs of `reducer`'s patches.
 * Companions must share the run's smoothing space (correlated or input noise, the same resize)
 * and use a subset of its grid patches; anything else is refused with a UsageError.
 */
export function companionAggregates(
  reducer: Reducer,
  companions: readonly ReduceOptions[],
  inputShape: Shape3,
  modelShape: Shape3,
): CompanionAggregate[] {
  if (companions.length === 0) return [];
  if (reducer instanceof WindowReducer) {
    sameExcept(reducer.options, companions, ['stride', 'maxPatches'], 'images');
    return windowCompanions(reducer, companions);
  }
  if (reducer instanceof PatchReducer)
    sameExcept(reducer.options, companions, ['windowStride', 'maxWindows'], 'video');
  const own = reducer instanceof PatchReducer ? reducer.fixedPositions : null;
  if (!(reducer instanceof PatchReducer) || reducer.options.method === 'rs' || own === null)
    throw new UsageError(
      'companion runs (--also) share the patches of a Smooth-Reduce run on images with grid patches: use --method max|mean without --random-patches',
    );
  if (reducer.options.noise === 'uncorrelated')
    throw new UsageError(
      'companion runs (--also) need one noise draw for every patch: --noise correlated or input, not uncorrelated',
    );
  const index = new Map(own.map((p, i) => [`${p.top},${p.left}`, i]));
  return companions.map((options) => {
    notRs(options);
    const positions = new PatchReducer(options, inputShape, modelShape).fixedPositions!;
    const patches = positions.map((p) => {
      const i = index.get(`${p.top},${p.left}`);
      if (i === undefined)
        throw new UsageError(
          `a companion run (--also) with stride ${options.stride}${options.maxPatches ? ` and max-patches ${options.maxPatches}` : ''} reads the patch at (${p.top}, ${p.left}), which the run's own patches (stride ${reducer.options.stride}) do not include`,
        );
      return i;
    });
    return aggregateOver(options, patches, own.length);
  });
}

/**
 * Video: companions reduce a subset of the run's windows (window-stride, max-windows) with their
 * own method and aggregate. With correlated noise the smoothing space is the clip itself for every
 * subset, so one noise draw serves them all; uncorrelated noise stacks the windows, a space that
 * differs with the subset, and is refused.
 */
function windowCompanions(
  reducer: WindowReducer,
  companions: readonly ReduceOptions[],
): CompanionAggregate[] {
  if (reducer.options.method === 'rs' || reducer.options.noise !== 'correlated')
    throw new UsageError(
      'companion runs (--also) on video share the windows of a Smooth-Reduce run with one noise draw on the clip: use --method max|mean with --noise correlated',
    );
  const T = reducer.clipShape.frames!;
  const L = reducer.modelShape.frames!;
  const index = new Map(reducer.starts.map((s, i) => [s, i]));
  return companions.map((options) => {
    notRs(options);
    const windows = windowStarts(T, L, options).map((s) => {
      const i = index.get(s);
      if (i === undefined)
        throw new UsageError(
          `a companion run (--also) with window-stride ${options.windowStride ?? L}${options.maxWindows ? ` and max-windows ${options.maxWindows}` : ''} reads the window at frame ${s}, which the run's own windows (frames ${reducer.starts.join(', ')}) do not include`,
        );
      return i;
    });
    return aggregateOver(options, windows, reducer.starts.length);
  });
}

/** The flag of each option a companion may set on one kind of input only. */
const FLAGS = {
  stride: 'stride',
  maxPatches: 'max-patches',
  windowStride: 'window-stride',
  maxWindows: 'max-windows',
};

/** Refuses a companion that sets an option of the other kind of input (window-stride on images). */
function sameExcept(
  own: ReduceOptions,
  companions: readonly ReduceOptions[],
  keys: readonly (keyof typeof FLAGS)[],
  kind: 'images' | 'video',
): void {
  for (const options of companions)
    for (const key of keys)
      if (options[key] !== own[key])
        throw new UsageError(`a companion run (--also) sets ${FLAGS[key]}, which applies to ${kind} only`);
}

function notRs(options: ReduceOptions): asserts options is ReduceOptions & { method: Reduction } {
  if (options.method === 'rs')
    throw new UsageError('a companion run (--also) is Smooth-Max or Smooth-Mean: method=max|mean, not rs');
}

/** The aggregate of a companion over `copies` of the run's `own` copies (all of them: no subset). */
function aggregateOver(
  options: ReduceOptions & { method: Reduction },
  copies: number[],
  own: number,
): CompanionAggregate {
  const all = copies.length === own && copies.every((p, i) => p === i);
  return { reduction: options.method, aggregate: options.aggregate, patches: all ? undefined : copies };
}
