/**
 * The denoiser card: the JSON sidecar `model.json` beside a denoiser's `model.onnx` (training/ writes
 * it for the shipped denoisers). It says what the denoiser takes and how to call it:
 *
 * - kind `direct`: the graph maps noisy images [N, C, H, W] in `pixelRange` to denoised images of the
 *   same shape and range (Salman et al.'s DnCNN); `sigma` is the noise level it was trained for.
 * - kind `diffusion-eps`: a DDPM epsilon-prediction network eps(x_t, t) (inputs: the image and the
 *   timestep [N]) working in `diffusion.modelRange` (most checkpoints: [-1, 1]); one-shot denoising as
 *   Carlini et al. (ICLR 2023) with the alpha-bar schedule given here (see ./diffusion.ts).
 *
 * The same validation runs in Node and in the browser: `validateDenoiserCard` has no Node imports.
 */
import { z } from 'zod';
import { UsageError } from '../core/errors.js';
import type { Shape3 } from '../core/shape.js';

export const DENOISER_CARD_FORMAT = 'smooth-reduce-denoiser-card';
export const DENOISER_CARD_VERSION = 1;

const positive = z.number().positive();
const range = z
  .tuple([z.number(), z.number()])
  .refine(([lo, hi]) => hi > lo, 'must be [low, high] with low < high');

const scheduleSchema = z.union([
  z.strictObject({ alphaBar: z.array(z.number().gt(0).lt(1)).min(1) }),
  z.strictObject({
    betaSchedule: z.enum(['linear', 'cosine']),
    steps: z.int().min(1).max(100_000),
    /** linear: first and last beta (DDPM: 1e-4 and 0.02) */
    betaStart: positive.lt(1).optional(),
    betaEnd: positive.lt(1).optional(),
  }),
]);

export const denoiserCardSchema = z.strictObject({
  format: z.literal(DENOISER_CARD_FORMAT),
  version: z.literal(DENOISER_CARD_VERSION),
  name: z.string().min(1),
  kind: z.enum(['direct', 'diffusion-eps']),
  input: z.strictObject({
    layout: z.literal('NCHW'),
    /** [C, H, W] it was trained on; H and W may be any size when `anySize` (fully convolutional) */
    shape: z.tuple([z.int().positive(), z.int().positive(), z.int().positive()]),
    anySize: z.boolean().default(false),
    /** the pixel scale of the noisy input and of the output (the classifier's) */
    pixelRange: range,
    channelOrder: z.enum(['gray', 'RGB', 'BGR']),
  }),
  /** direct: the Gaussian noise level (pixel scale) it was trained for; diffusion: any */
  sigma: z.number().min(0).optional(),
  diffusion: z
    .strictObject({
      /** the pixel scale the network works in, e.g. [-1, 1] */
      modelRange: range,
      schedule: scheduleSchema,
      /** timesteps are passed as this tensor type (default int64) */
      timestepType: z.enum(['int64', 'float32']).default('int64'),
    })
    .optional(),
  training: z.record(z.string(), z.unknown()).optional(),
  metrics: z.record(z.string(), z.unknown()).optional(),
});

export type DenoiserCard = z.output<typeof denoiserCardSchema>;

/** Validates a parsed denoiser card; every problem is a one-line UsageError naming `where`. */
export function validateDenoiserCard(raw: unknown, where = 'denoiser card'): DenoiserCard {
  const parsed = denoiserCardSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue.path.length > 0 ? issue.path.join('.') : 'the card';
    throw new UsageError(`${where}: ${at}: ${issue.message}`);
  }
  const card = parsed.data;
  if (card.kind === 'diffusion-eps' && !card.diffusion)
    throw new UsageError(`${where}: kind "diffusion-eps" needs "diffusion" (modelRange and schedule)`);
  if (card.kind === 'direct' && card.diffusion)
    throw new UsageError(`${where}: "diffusion" applies to kind "diffusion-eps" only`);
  return card;
}

/** Whether a denoiser with this card takes images of `shape` (fully convolutional ones: any size). */
export function cardAccepts(card: DenoiserCard, shape: Shape3): boolean {
  if (shape.frames !== undefined || shape.channels !== card.input.shape[0]) return false;
  const [, h, w] = card.input.shape;
  return card.input.anySize || (shape.height === h && shape.width === w);
}

/** True for a JSON value that says it is a denoiser card (whatever its validity). */
export function isDenoiserCard(raw: unknown): boolean {
  return (
    typeof raw === 'object' && raw !== null && (raw as { format?: unknown }).format === DENOISER_CARD_FORMAT
  );
}
