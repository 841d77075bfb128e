/**
 * Companion configurations: Smooth-Reduce runs whose votes come from the same model calls as a
 * run's own. Smooth-Max and Smooth-Mean, logits and softmax, and a subset of the patches (4 of the
 * 9, the centre one alone) differ only in how a sample's k patch outputs are reduced, not in the
 * noise or the patches fed to the model, so one pass certifies all of them; every companion's
 * certificate is the one a run of that configuration alone would give (same smoothing space,
 * same noise stream, same model outputs).
 */
import { UsageError } from '../core/errors.js';
import type { Shape3 } from '../core/shape.js';
import type { CompanionAggregate } from '../sampling/sampler.js';
import { PatchReducer, type ReduceOptions, type Reducer } from './reducer.js';

/** The options a companion may change; every other option is the run's own. */
export const COMPANION_KEYS = ['method', 'aggregate', 'stride', 'maxPatches'] as const;

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
    if (options.method === 'rs')
      throw new UsageError('a companion run (--also) is Smooth-Max or Smooth-Mean: method=max|mean, not rs');
    const positions = new PatchReducer(options, inputShape, modelShape).fixedPositions!;
    const patches = positions.map((p) => {
      const i = index.get(`${p.top},${p.left}`);
      if (i === undefined)
        throw new UsageError(
          `a companion run (--also) with stride ${options.stride}${options.maxPatches ? ` and max-patches ${options.maxPatches}` : ''} reads the patch at (${p.top}, ${p.left}), which the run's own patches (stride ${reducer.options.stride}) do not include`,
        );
      return i;
    });
    const all = patches.length === own.length && patches.every((p, i) => p === i);
    return { reduction: options.method, aggregate: options.aggregate, patches: all ? undefined : patches };
  });
}
