/**
 * The models a server offers: loaded (and checked) once at start-up from the paths on its command
 * line, each under an id, its folder's name. Requests name a model by id only, never by path.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { UsageError } from '../core/errors.js';
import type { Shape3 } from '../core/shape.js';
import type { ModelCard } from '../models/model-card.js';
import { OnnxClassifier } from '../models/onnx-classifier.js';
import type { DenoiserCard } from '../models/denoiser-card.js';
import { OnnxDenoiser } from '../models/onnx-denoiser.js';

export interface ServedModel {
  id: string;
  /** the .onnx file */
  path: string;
  sha256: string;
  card: ModelCard;
  shape: Shape3;
  /** the model file, served to the web page (which runs it with onnxruntime-web) */
  bytes: Buffer;
}

/** Loads every model (one forward pass each, to fail at start-up rather than on a request). */
export async function loadModels(paths: string[]): Promise<ServedModel[]> {
  if (paths.length === 0) throw new UsageError('serve needs at least one --model');
  const models: ServedModel[] = [];
  for (const spec of paths) {
    const c = await OnnxClassifier.load(spec, { threads: 1 });
    await c.dispose();
    const id = basename(c.path) === 'model.onnx' ? basename(dirname(c.path)) : basename(c.path, '.onnx');
    if (models.some((m) => m.id === id)) throw new UsageError(`two models have the id ${id}: ${spec}`);
    models.push({
      id,
      path: c.path,
      sha256: c.sha256,
      card: c.card,
      shape: c.inputShape,
      bytes: readFileSync(c.path),
    });
  }
  return models;
}

/** What GET /v1/models tells about a model. */
export function modelInfo(m: ServedModel) {
  return {
    id: m.id,
    sha256: m.sha256,
    inputShape: [m.shape.channels, m.shape.height, m.shape.width],
    pixelRange: m.card.input.pixelRange,
    classes: m.card.classes,
    trainingSigma: m.card.training?.sigma ?? null,
    url: `/v1/models/${encodeURIComponent(m.id)}/model.onnx`,
    card: m.card,
  };
}

/** A denoiser a request may put in front of a model (denoised smoothing). */
export interface ServedDenoiser {
  id: string;
  /** the .onnx file */
  path: string;
  sha256: string;
  card: DenoiserCard;
  /** the model file, served to the web page */
  bytes: Buffer;
}

/** Loads every denoiser (one forward pass each, at its card's sigma, to fail at start-up). */
export async function loadDenoisers(paths: string[], models: ServedModel[]): Promise<ServedDenoiser[]> {
  const denoisers: ServedDenoiser[] = [];
  for (const spec of paths) {
    const d = await OnnxDenoiser.load(spec, { threads: 1, sigma: 0.25 });
    await d.dispose();
    const id = basename(d.path) === 'model.onnx' ? basename(dirname(d.path)) : basename(d.path, '.onnx');
    if (denoisers.some((x) => x.id === id) || models.some((m) => m.id === id))
      throw new UsageError(`two models or denoisers have the id ${id}: ${spec}`);
    denoisers.push({ id, path: d.path, sha256: d.sha256, card: d.card, bytes: readFileSync(d.path) });
  }
  return denoisers;
}

/** What GET /v1/models tells about a denoiser. */
export function denoiserInfo(d: ServedDenoiser) {
  return {
    id: d.id,
    sha256: d.sha256,
    kind: d.card.kind,
    sigma: d.card.sigma ?? null,
    url: `/v1/denoisers/${encodeURIComponent(d.id)}/model.onnx`,
    card: d.card,
  };
}
