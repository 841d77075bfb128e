/**
 * What producers, workers and collectors exchange through Redis: the job payload (one definition,
 * checked with zod on the worker), the result entries, the run record and the key names.
 *
 * Keys (all under the prefix `smooth-reduce`):
 * - `smooth-reduce:certify:*`   the BullMQ queue every worker takes jobs from (all runs share it);
 * - `smooth-reduce:runs`        sorted set of run ids, by creation time;
 * - `smooth-reduce:run:<id>`    hash: the run's spec, label, total, status, collector, times;
 * - `smooth-reduce:results:<id>` stream: one entry per finished input, `i` (index), `w` (worker),
 *                                `l` (the log line, exactly as a local run writes it) and, for a
 *                                run with companions (`--also`), `c` (their lines, in order, one
 *                                per line); or, for an input the worker could not read (a corrupt
 *                                or short video, which a local run skips too), `s` (the reason).
 *
 * A run id is a hash of everything that decides the logs' content (command, certificate options,
 * model identity, data, selection, companions), so rerunning the same command finds the same run.
 */
import { canonicalJson, sha256Hex } from '../io/json.js';
import { z } from 'zod';
import type { RunIdentity } from '../io/manifest.js';

export const PREFIX = 'smooth-reduce';
export const QUEUE_NAME = 'certify';
export const JOB_FORMAT = 'smooth-reduce-job';
/**
 * 2: runs carry companions (certify --also) and their results a `c` field; 3: video runs (clip
 * transform, window companions) and `s` results (an input the worker could not read); 4: the model
 * is named by its whole identity (external data and card hash besides the .onnx sha256); 5: a
 * denoiser (denoised smoothing) run before the model, named by its identity (an older worker would
 * ignore it and certify another base classifier, so it must refuse the job)
 */
export const JOB_VERSION = 5;

export const keys = {
  runs: `${PREFIX}:runs`,
  run: (id: string) => `${PREFIX}:run:${id}`,
  results: (id: string) => `${PREFIX}:results:${id}`,
};

/** DataTransform: images (resize, centre crop, channels) or clips (frames, fps, size, padding, split) */
const transform = z.object({
  resize: z.number().int().positive().optional(),
  centerCrop: z.number().int().positive().optional(),
  channels: z.union([z.literal(1), z.literal(3)]).optional(),
  frames: z.number().int().positive().optional(),
  fps: z.number().positive().optional(),
  size: z.number().int().positive().optional(),
  padFrames: z.boolean().optional(),
  split: z.string().min(1).optional(),
});

/** What a companion run changes of the run's options (CompanionOverrides; certify --also). */
const companion = z
  .object({
    method: z.enum(['rs', 'max', 'mean']).optional(),
    aggregate: z.enum(['logits', 'softmax']).optional(),
    stride: z.number().int().positive().optional(),
    maxPatches: z.number().int().positive().optional(),
    windowStride: z.number().int().positive().optional(),
    maxWindows: z.number().int().positive().optional(),
  })
  .strict();

/** Everything a worker needs to run any input of a run: the same for all its jobs. */
export const runSpecSchema = z.object({
  command: z.enum(['certify', 'predict']),
  model: z.object({
    /** as the user gave it: a worker resolves it against its own working directory */
    path: z.string().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    /** the external data files (relative to the model's folder) with their sha256 */
    externalData: z.array(z.object({ path: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
    /** sha256 of the card's computation fields (null: no card, the graph decides) */
    cardSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .nullable(),
    card: z.string().min(1).nullable(),
    name: z.string(),
  }),
  /** denoised smoothing: the denoiser, as the user gave its path, with its identity; null: none */
  denoiser: z
    .object({
      path: z.string().min(1),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      externalData: z.array(
        z.object({ path: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
      ),
      /** sha256 of the canonical denoiser card */
      cardSha256: z.string().regex(/^[0-9a-f]{64}$/),
    })
    .nullable(),
  data: z.object({
    spec: z.string().min(1),
    labels: z.string().min(1).nullable(),
    transform,
    /** what the producer saw: a worker refuses a data set that differs */
    size: z.number().int().positive(),
    description: z.string(),
  }),
  /** SmoothingOptions, checked by the library's own validator on the worker */
  options: z.record(z.string(), z.unknown()),
  /** companion runs certified from the same model calls, each a line in the entry's `c` field */
  companions: z.array(companion),
});
export type RunSpec = z.infer<typeof runSpecSchema>;

export const jobSchema = z.object({
  format: z.literal(JOB_FORMAT),
  version: z.literal(JOB_VERSION),
  run: z.string().regex(/^[0-9a-f]{16}$/),
  spec: runSpecSchema,
  /** data set indices, in order */
  indices: z.array(z.number().int().nonnegative()).min(1),
});
export type JobPayload = z.infer<typeof jobSchema>;

/** running; finished (every input in the log); failed (jobs failed for good); cancelled (queue cancel) */
export type RunStatus = 'running' | 'finished' | 'failed' | 'cancelled';

/**
 * The run id: 16 hex digits of sha256 over what decides the logs' content (not paths, not batch).
 * A run without companions has the id it had before companions existed.
 */
export function runIdOf(identity: RunIdentity, companions: RunSpec['companions'] = []): string {
  const decisive = {
    command: identity.command,
    options: identity.options,
    // the .onnx alone for models without a recorded identity (in-memory ones), else all of it
    model:
      identity.model.cardSha256 === undefined
        ? identity.model.sha256
        : {
            sha256: identity.model.sha256,
            externalData: identity.model.externalData ?? [],
            card: identity.model.cardSha256,
          },
    data: identity.data,
    selection: identity.selection,
    ...(companions.length > 0 ? { companions } : {}),
  };
  return sha256Hex(canonicalJson(decisive)).slice(0, 16);
}

/** One job per chunk of inputs, named by its first index: adding it again is a no-op in BullMQ. */
export function jobIdOf(run: string, indices: number[]): string {
  return `${run}-${indices[0]}`;
}
