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
