/**
 * A certification run over a data set: the loop that ties a SmoothedClassifier to a data reader,
 * the TSV log and its manifest, and progress events. Resumable: inputs already in the log are
 * skipped, and each input's noise depends only on (seed, index), so a resumed or sharded run writes
 * exactly what one uninterrupted run would (apart from the time column).
 */
import { UsageError } from '../core/errors.js';
import { ABSTAIN } from '../core/smooth.js';
import type { Dataset } from '../data/dataset.js';
import {
  type DataTransform,
  type RunIdentity,
  type RunManifest,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  manifestBeside,
  identityMismatch,
  machineDescription,
  softwareVersions,
  writeManifest,
} from '../io/manifest.js';
import { TsvLog, certifyFields, logColumns, predictFields } from '../io/tsv-log.js';
import type { OnnxClassifier } from '../models/onnx-classifier.js';
import { type SmoothingOptions, SmoothedClassifier } from '../smoothed-classifier.js';
import { type Selection, selectIndices } from './selection.js';

export interface RunRequest {
  command: 'certify' | 'predict';
  classifier: OnnxClassifier;
  dataset: Dataset;
  dataSpec: string;
  /**
   * how the data reader transforms the stored images (image-folder resize / center crop, channel
   * conversion), as given by the user: part of the run identity when not empty
   */
  dataTransform?: DataTransform;
  options: SmoothingOptions;
  selection: Selection;
  out: string;
  device: string;
  threads: number | null;
}

/** One finished input, as shown by progress displays. */
export interface InputEvent {
  idx: number;
  label: number;
  prediction: number;
  correct: boolean;
  /** input-space radius (certify), 0 for predict */
  radius: number;
  seconds: number;
}

export interface RunSummary {
  total: number;
  resumed: number;
  correct: number;
  abstained: number;
  seconds: number;
}

/** What the lines already in a resumed log hold (inputs of this run's selection only). */
export interface ResumedCounts {
  /** correct and not abstained */
  correct: number;
  abstained: number;
}

export interface RunObserver {
  start(total: number, alreadyDone: number, manifest: RunManifest, resumed: ResumedCounts): void;
  input(event: InputEvent, done: number): void;
  finish(summary: RunSummary): void;
}

export function describeMethod(o: SmoothingOptions, copies: number): string {
  const adaptive = o.adaptiveRadius != null ? `, adaptive at r=${o.adaptiveRadius}` : '';
  if (o.method === 'rs') return `RS sigma=${o.sigma}${adaptive}`;
  const name = o.method === 'max' ? 'Smooth-Max' : 'Smooth-Mean';
  const pos = o.randomPatches ? 'random ' : '';
  return `${name} (${copies} ${pos}patches, ${o.noise}, ${o.aggregate}) sigma=${o.sigma}${adaptive}`;
}

/** Options that change certificates; batch size does not (noise is drawn per sample, in order). */
function certificateOptions(o: SmoothingOptions, command: 'certify' | 'predict'): Record<string, unknown> {
  const base: Record<string, unknown> = {
    method: o.method,
    sigma: o.sigma,
    n: o.n,
    alpha: o.alpha,
    seed: o.seed,
  };
  if (command === 'certify') base.n0 = o.n0;
  // only when set, so that manifests written before adaptive certification existed still resume
  if (command === 'certify' && o.adaptiveRadius != null)
    Object.assign(base, { adaptiveRadius: o.adaptiveRadius, looks: o.looks });
  if (o.method !== 'rs') {
    Object.assign(base, {
      resize: o.resize ?? null,
      resizeMode: o.resizeMode,
      stride: o.stride,
      maxPatches: o.maxPatches ?? null,
      randomPatches: o.randomPatches,
      noise: o.noise,
      aggregate: o.aggregate,
    });
  }
  return base;
}

export async function runCertification(req: RunRequest, observer: RunObserver): Promise<RunSummary> {
  const g = new SmoothedClassifier(req.classifier, req.dataset.shape, req.options);
  const indices = selectIndices(req.dataset.size, req.selection);
  if (indices.length === 0) throw new UsageError('the selection (--skip, --max, --shard) contains no input');
  const identity: RunIdentity = {
    command: req.command,
    options: certificateOptions(req.options, req.command),
    model: { path: req.classifier.path, sha256: req.classifier.sha256, name: req.classifier.card.name },
    data: { spec: req.dataSpec, description: req.dataset.description, size: req.dataset.size },
    selection: req.selection,
  };
  // only when given, so that manifests written before these options existed still resume
  const transform = Object.fromEntries(
    Object.entries(req.dataTransform ?? {}).filter(([, v]) => v !== undefined),
  ) as DataTransform;
  if (Object.keys(transform).length > 0) identity.data.transform = transform;
  const previous = manifestBeside(req.out);
  if (previous) {
    const diff = identityMismatch(previous, identity);
    if (diff)
      throw new UsageError(`${req.out} belongs to another run (${diff}); choose another --out or delete it`);
  }
  const log = new TsvLog(req.out, logColumns(req.command));
  if (log.done.size > 0 && !previous) {
    log.close();
    throw new UsageError(`${req.out} has results but no manifest beside it; choose another --out`);
  }
  const plan0 = g.reducer.geometry;
  const manifest: RunManifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    label: describeMethod(req.options, plan0.copies),
    ...identity,
    radiusSpace: 'input',
    smoothingSpace: plan0.smoothingSpace,
    noiseScale: g.reducer.fixedNoiseScale,
    execution: { batch: req.options.batch, device: req.device, threads: req.threads },
    versions: softwareVersions(),
    machine: machineDescription(),
    started: previous?.started ?? new Date().toISOString(),
    finished: null,
    lines: null,
  };
  const todo = indices.filter((i) => !log.done.has(i));
  const resumed = indices.length - todo.length;
  const counts: ResumedCounts = { correct: 0, abstained: 0 };
  const selected = new Set(indices);
  for (const row of log.rows) {
    if (!selected.has(row.idx)) continue;
    if (row.correct) counts.correct++;
    if (row.predict === ABSTAIN) counts.abstained++;
  }
  const summary: RunSummary = { total: indices.length, resumed, correct: 0, abstained: 0, seconds: 0 };
  writeManifest(req.out, manifest);
  observer.start(indices.length, resumed, manifest, counts);
  const t0 = performance.now();
  try {
    for (const [k, idx] of todo.entries()) {
      const input = await req.dataset.get(idx);
      const t = performance.now();
      let event: InputEvent;
      if (req.command === 'certify') {
        const c = await g.certify(input);
        const seconds = (performance.now() - t) / 1000;
        const correct = c.prediction === input.label;
        log.append(certifyFields({ idx, label: input.label, seconds, ...c }));
        event = { idx, label: input.label, prediction: c.prediction, correct, radius: c.radius, seconds };
      } else {
        const p = await g.predict(input);
        const seconds = (performance.now() - t) / 1000;
        const correct = p.prediction === input.label;
        const nA = p.prediction === ABSTAIN ? Math.max(...p.counts) : p.counts[p.prediction];
        log.append(predictFields({ idx, label: input.label, seconds, ...p, nA, n: req.options.n }));
        event = { idx, label: input.label, prediction: p.prediction, correct, radius: 0, seconds };
      }
      if (event.correct) summary.correct++;
      if (event.prediction === ABSTAIN) summary.abstained++;
      observer.input(event, resumed + k + 1);
    }
  } finally {
    log.close();
  }
  summary.seconds = (performance.now() - t0) / 1000;
  manifest.finished = new Date().toISOString();
  manifest.lines = indices.length;
  writeManifest(req.out, manifest);
  observer.finish(summary);
  return summary;
}
