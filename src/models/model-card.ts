/**
 * The model card: the JSON sidecar `model.json` beside `model.onnx` that says how to feed the model.
 * One definition for the whole project (training/ writes it, the classifier reads it); see the README.
 */
import { readJsonFile } from '../io/json.js';
import { UsageError } from '../core/errors.js';
import type { ClipLayout, Shape3 } from '../core/shape.js';

export const MODEL_CARD_FORMAT = 'smooth-reduce-model-card';
/** Version 2 added video classifiers (layouts NCTHW / NTCHW, fps, clipFrames); version 1 cards still read. */
export const MODEL_CARD_VERSION = 2;
const READABLE_VERSIONS = [1, 2];

export interface ModelCard {
  format: typeof MODEL_CARD_FORMAT;
  version: number;
  name: string;
  input: {
    /**
     * the input tensor's axes: NCHW for images; video (version 2): NCTHW (PyTorch 3D CNNs) or NTCHW
     */
    layout: 'NCHW' | ClipLayout;
    /** [C, H, W] without the batch axis; video: [C, T, H, W] (T frames per window) whatever the layout */
    shape: [number, number, number] | [number, number, number, number];
    /** video: the frame rate the model was trained at (the default of --fps) */
    fps?: number;
    /** video: frames per clip in training (the default of --frames) */
    clipFrames?: number;
    /** the pixel range the noise is added in, e.g. [0, 1] */
    pixelRange: [number, number];
    /** 'gray' | 'RGB' | 'BGR' */
    channelOrder: 'gray' | 'RGB' | 'BGR';
    /**
     * Per-channel mean/std applied AFTER the noise, by the classifier wrapper, when the graph does not
     * normalise by itself; null when normalisation is inside the graph (recommended) or absent.
     */
    normalization: { mean: number[]; std: number[] } | null;
  };
  classes: string[];
  training?: {
    /** the Gaussian noise level the model was trained with (pixel scale) */
    sigma: number;
    dataset: string;
    epochs?: number;
    seed?: number;
    augmentation?: string;
    command?: string;
    architecture?: string;
  };
  metrics?: {
    /** evaluated on this many test images of `dataset` */
    testImages: number;
    cleanAccuracy: number;
    /** accuracy of the base model on x + N(0, sigma^2) with the training sigma */
    noisyAccuracy: number;
  };
}

export function cardShape(card: ModelCard): Shape3 {
  const s = card.input.shape;
  if (s.length === 4) return { channels: s[0], frames: s[1], height: s[2], width: s[3] };
  return { channels: s[0], height: s[1], width: s[2] };
}

/** The clip layout of a video model's card, undefined for images. */
export function cardLayout(card: ModelCard): ClipLayout | undefined {
  return card.input.layout === 'NCHW' ? undefined : card.input.layout;
}

/** Reads and validates a model card; every problem is a one-line UsageError. */
export function readModelCard(path: string): ModelCard {
  return validateModelCard(readJsonFile(path, 'model card'), path);
}

export function validateModelCard(raw: unknown, where = 'model card'): ModelCard {
  const fail = (what: string): never => {
    throw new UsageError(`${where}: ${what}`);
  };
  if (typeof raw !== 'object' || raw === null) fail('not a JSON object');
  const card = raw as ModelCard;
  if (card.format !== MODEL_CARD_FORMAT) fail(`"format" must be "${MODEL_CARD_FORMAT}"`);
  if (!READABLE_VERSIONS.includes(card.version))
    fail(`unsupported version ${card.version} (this build reads ${READABLE_VERSIONS.join(' and ')})`);
  const input = card.input;
  const layouts = card.version === 1 ? ['NCHW'] : ['NCHW', 'NCTHW', 'NTCHW'];
  if (!input || !layouts.includes(input.layout))
    fail(`input.layout must be ${layouts.map((l) => `"${l}"`).join(' or ')} (version ${card.version})`);
  const video = input.layout !== 'NCHW';
  const shape = input.shape;
  const rank = video ? 4 : 3;
  if (!Array.isArray(shape) || shape.length !== rank || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    fail(`input.shape must be ${video ? '[C, T, H, W]' : '[C, H, W]'} with positive integers`);
  }
  if (video && input.fps !== undefined && !(input.fps > 0)) fail('input.fps must be > 0');
  if (
    video &&
    input.clipFrames !== undefined &&
    !(Number.isInteger(input.clipFrames) && input.clipFrames > 0)
  )
    fail('input.clipFrames must be a positive integer');
  if (
    !Array.isArray(input.pixelRange) ||
    input.pixelRange.length !== 2 ||
    !(input.pixelRange[1] > input.pixelRange[0])
  ) {
    fail('input.pixelRange must be [low, high] with low < high');
  }
  const norm = input.normalization;
  if (norm !== null && norm !== undefined) {
    const ok = (a: unknown) =>
      Array.isArray(a) && a.length === shape[0] && a.every((v) => typeof v === 'number');
    if (!ok(norm.mean) || !ok(norm.std) || norm.std.some((s) => !(s > 0))) {
      fail(`input.normalization needs mean and std arrays of ${shape[0]} numbers, std > 0`);
    }
  }
  if (
    !Array.isArray(card.classes) ||
    card.classes.length < 2 ||
    !card.classes.every((c) => typeof c === 'string')
  ) {
    fail('classes must list at least two class names');
  }
  if (card.training !== undefined && !(card.training.sigma >= 0)) fail('training.sigma must be >= 0');
  return { ...card, input: { ...input, normalization: norm ?? null } };
}
