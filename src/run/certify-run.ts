/**
 * A certification run over a data set: the loop that ties a SmoothedClassifier to a data reader,
 * the TSV log and its manifest, and progress events. Resumable: inputs already in the log are
 * skipped, and each input's noise depends only on (seed, index), so a resumed or sharded run writes
 * exactly what one uninterrupted run would (apart from the time column).
 *
 * In parts, for other executors (worker threads, queue workers, the browser): `openRun` (identity,
 * mismatch check, resume counts, manifest), `evaluateInput` (one input to its log line, through
 * `../io/tsv-log.ts`) and `runCertification`, the local loop over both. The model is any
 * `Classifier`, named in the manifest by the `ModelIdentity` given with it.
 */
import { InputError, UsageError } from '../core/errors.js';
import { SAMPLER } from '../core/rng.js';
import { formatShape } from '../core/shape.js';
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
  sessionsBefore,
  softwareVersions,
  writeManifest,
} from '../io/manifest.js';
import { canonicalJson, sha256Hex } from '../io/json.js';
import { TsvLog, certifyFields, logColumns, predictFields } from '../io/tsv-log.js';
import type { Input } from '../data/dataset.js';
import type { Classifier } from '../models/classifier.js';
import type { Denoising } from '../models/denoiser.js';
import type { DenoiserCard } from '../models/denoiser-card.js';
import type { ModelCard } from '../models/model-card.js';
import type { CompanionOverrides } from '../reduce/companions.js';
import { type SmoothingOptions, SmoothedClassifier } from '../smoothed-classifier.js';
import { assertConsistent } from '../verify/rederive.js';
import { preflight } from './preflight.js';
import { type Selection, selectIndices } from './selection.js';

/** What identifies the model in the manifest (an OnnxClassifier is one). */
export interface ModelIdentity {
  /** the model file */
  path: string;
  /** sha256 of the model file: a resumed run must use the same model */
  sha256: string;
  card: Pick<ModelCard, 'name'>;
  /**
   * models loaded from files (../models/model-identity.ts): the external data files and the card's
   * hash, which a resumed run, a merge and every queue worker check too
   */
  externalData?: { path: string; sha256: string }[];
  cardSha256?: string | null;
}

/** What identifies a denoiser (denoised smoothing) in the manifest (an OnnxDenoiser is one). */
export interface DenoiserIdentity {
  path: string;
  sha256: string;
  /** external data files (relative to the denoiser's folder) and their sha256 */
  externalData: { path: string; sha256: string }[];
  card: DenoiserCard;
}

/** sha256 of a denoiser card (canonical JSON of all of it: every field may decide the output). */
export function denoiserCardSha256(card: DenoiserCard): string {
  return sha256Hex(canonicalJson(card));
}

export interface RunRequest {
  command: 'certify' | 'predict';
  /** any base classifier: ONNX Runtime here, onnxruntime-web, a worker's, a test's */
  classifier: Classifier;
  model: ModelIdentity;
  /** denoised smoothing: the denoiser inside `classifier` (a DenoisedClassifier), for the manifest */
  denoiser?: DenoiserIdentity;
  dataset: Dataset;
  dataSpec: string;
  /**
   * how the data reader transforms the stored images (image-folder resize / center crop, channel
   * conversion), as given by the user: part of the run identity when not empty
   */
  dataTransform?: DataTransform;
  options: SmoothingOptions;
  /**
   * certify only: companion runs certified from the same model calls (SmoothedClassifier's
   * companions), each with its own log and manifest, as a run of its options alone would write
   */
  companions?: { overrides: CompanionOverrides; out: string }[];
  selection: Selection;
  out: string;
  device: string;
  threads: number | null;
  /** aborted with 'SIGINT' or 'SIGTERM': stop after the current input (RunInterrupted) */
  signal?: AbortSignal;
}

/** A run stopped by a signal between two inputs: its log holds every input finished so far. */
export class RunInterrupted extends Error {
  override name = 'RunInterrupted';
  constructor(
    readonly signal: 'SIGINT' | 'SIGTERM',
    /** inputs of the selection in the log */
    readonly done: number,
    readonly total: number,
  ) {
    super(`${signal}: stopped after ${done} of ${total} inputs`);
  }
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
  /** certify: the lower bound on pA (as logged) */
  pALower?: number;
  /** predict: the p-value (as logged) */
  pValue?: number;
  /** estimation votes per class */
  counts?: number[];
}

/** The totals of one session of a run (resumed inputs are counted in `resumed` only). */
export interface RunTotals {
  total: number;
  resumed: number;
  correct: number;
  abstained: number;
  seconds: number;
  /** inputs that could not be read in this session (corrupt or short videos) */
  skipped?: number;
  /** seconds spent reading (decoding) inputs, apart from certification */
  readSeconds?: number;
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
  /** an input that could not be read (corrupt or short video): no log line, recorded in the manifest */
  skip?(idx: number, reason: string): void;
  finish(totals: RunTotals): void;
}

export function describeMethod(
  o: SmoothingOptions,
  copies: number,
  video = false,
  denoiser?: string,
): string {
  const label = describeReduction(o, copies, video);
  return denoiser ? `${label}, denoiser ${denoiser}` : label;
}

function describeReduction(o: SmoothingOptions, copies: number, video: boolean): string {
  const adaptive =
    o.adaptiveRadius != null
      ? `, adaptive at r=${o.adaptiveRadius}`
      : o.sampleLoss != null
        ? `, input-specific n (loss ${o.sampleLoss})`
        : '';
  if (o.method === 'rs') return `RS${video ? ' (one window)' : ''} sigma=${o.sigma}${adaptive}`;
  const name = o.method === 'max' ? 'Smooth-Max' : 'Smooth-Mean';
  const pos =
    o.pad !== undefined && !video
      ? `${o.randomPatches ? 'random ' : ''}translation${copies === 1 ? '' : 's'}, pad ${o.pad}`
      : `${o.randomPatches ? 'random ' : ''}${video ? 'window' : 'patch'}${copies === 1 ? '' : video ? 's' : 'es'}`;
  return `${name} (${copies} ${pos}, ${o.noise}, ${o.aggregate}) sigma=${o.sigma}${adaptive}`;
}

/** Options that change certificates; batch size does not (noise is drawn per sample, in order). */
function certificateOptions(o: SmoothingOptions, command: 'certify' | 'predict'): Record<string, unknown> {
  const base: Record<string, unknown> = {
    // a log written by another noise sampler cannot be resumed: its inputs drew other noise
    sampler: SAMPLER,
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
  if (command === 'certify' && o.sampleLoss != null) base.sampleLoss = o.sampleLoss;
  // video windows, only when set, so that image manifests resume unchanged
  for (const key of ['window', 'windowStride', 'maxWindows', 'windowOffset'] as const)
    if (o[key] !== undefined) base[key] = o[key];
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
    // only when set, so that manifests written before the translation variant still resume
    if (o.pad !== undefined) base.pad = o.pad;
  }
  return base;
}

/**
 * The denoiser's part of the certificate options: the graph, the card and where it runs (a run
 * resumed with another denoiser, card or placement is refused like any other option change).
 */
function denoiserOptions(d: DenoiserIdentity, denoising: Denoising): Record<string, unknown> {
  return {
    sha256: d.sha256,
    ...(d.externalData.length > 0 ? { externalData: d.externalData } : {}),
    cardSha256: denoiserCardSha256(d.card),
    kind: d.card.kind,
    on: denoising.on,
    shape: formatShape(denoising.shape),
  };
}

/**
 * The run identity of a request: what its manifest must keep for the log to be resumed.
 * `denoising`: where the request's denoiser runs (SmoothedClassifier.denoising), when it has one.
 */
export function runIdentity(req: RunRequest, denoising: Denoising | null = null): RunIdentity {
  const options = certificateOptions(req.options, req.command);
  if (req.denoiser) {
    if (!denoising)
      throw new UsageError('a run with a denoiser needs a DenoisedClassifier as its classifier');
    options.denoiser = denoiserOptions(req.denoiser, denoising);
  }
  const identity: RunIdentity = {
    command: req.command,
    options,
    model: {
      path: req.model.path,
      sha256: req.model.sha256,
      name: req.model.card.name,
      ...(req.model.cardSha256 !== undefined
        ? { externalData: req.model.externalData ?? [], cardSha256: req.model.cardSha256 }
        : {}),
    },
    data: { spec: req.dataSpec, description: req.dataset.description, size: req.dataset.size },
    selection: req.selection,
  };
  // only when given, so that manifests written before these options existed still resume
  const transform = Object.fromEntries(
    Object.entries(req.dataTransform ?? {}).filter(([, v]) => v !== undefined),
  ) as DataTransform;
  if (Object.keys(transform).length > 0) identity.data.transform = transform;
  if (req.denoiser)
    identity.denoiser = {
      path: req.denoiser.path,
      sha256: req.denoiser.sha256,
      name: req.denoiser.card.name,
    };
  return identity;
}

/** A run opened for writing: its log (resumed if it existed), manifest and what is left to do. */
export interface OpenRun {
  smoothed: SmoothedClassifier;
  log: TsvLog;
  manifest: RunManifest;
  /** the selected indices */
  indices: number[];
  /** the selected indices not yet in the log (or in a companion's), in order */
  todo: number[];
  /** what the log already holds of the selection */
  resumed: ResumedCounts;
  /** the companion runs' logs and manifests, in the order of smoothed.companions */
  companions: { out: string; log: TsvLog; manifest: RunManifest }[];
}

/**
 * Opens the run `req` describes: checks that an existing log and manifest belong to the same run,
 * opens the log for appending and writes the manifest (unfinished); the same for each companion.
 * Close the logs when done (closeRun).
 */
export function openRun(req: RunRequest): OpenRun {
  const companions = req.companions ?? [];
  if (companions.length > 0 && req.command !== 'certify')
    throw new UsageError('companion runs (--also) are for certify only');
  const outs = [req.out, ...companions.map((c) => c.out)];
  const twice = outs.find((out, i) => outs.indexOf(out) !== i);
  if (twice !== undefined) throw new UsageError(`${twice} is named twice as a log (--out, --also out=)`);
  const smoothed = new SmoothedClassifier(
    req.classifier,
    req.dataset.shape,
    req.options,
    companions.map((c) => c.overrides),
  );
  const indices = selectIndices(req.dataset.size, req.selection);
  if (indices.length === 0) throw new UsageError('the selection (--skip, --max, --shard) contains no input');
  preflight(req.out, req.dataset, indices, req.classifier.numClasses);
  const runs: { out: string; log: TsvLog; manifest: RunManifest; resumed: ResumedCounts }[] = [];
  try {
    for (const [i, out] of outs.entries()) {
      const options = i === 0 ? req.options : smoothed.companions[i - 1];
      const copies = i === 0 ? smoothed.reducer.geometry.copies : smoothed.companionCopies[i - 1];
      const sharedCalls = outs.filter((o) => o !== out);
      runs.push({ out, ...openLog({ ...req, options, out }, smoothed, copies, indices, sharedCalls) });
    }
  } catch (e) {
    for (const r of runs) r.log.close();
    throw e;
  }
  const [own, ...rest] = runs;
  const todo = indices.filter((i) => runs.some((r) => !r.log.done.has(i)));
  return { smoothed, indices, todo, ...own, companions: rest };
}

/** Closes the logs of a run and of its companions. */
export function closeRun(run: OpenRun): void {
  for (const r of [run, ...run.companions]) r.log.close();
}

function openLog(
  req: RunRequest,
  smoothed: SmoothedClassifier,
  copies: number,
  indices: number[],
  sharedCalls: string[],
): { log: TsvLog; manifest: RunManifest; resumed: ResumedCounts } {
  const identity = runIdentity(req, smoothed.denoising);
  const previous = manifestBeside(req.out);
  if (previous) {
    if (previous.model && !('cardSha256' in previous.model) && 'cardSha256' in identity.model)
      throw new UsageError(
        `${req.out}: its manifest was written by an earlier smooth-reduce that did not record the model card and external data, so resuming cannot check them; choose another --out`,
      );
    const diff = identityMismatch(previous, identity);
    if (diff)
      throw new UsageError(`${req.out} belongs to another run (${diff}); choose another --out or delete it`);
  }
  const log = new TsvLog(req.out, logColumns(req.command));
  try {
    // a line its own counts do not give (edited, or two logs joined) would be carried on as certified
    assertConsistent(
      { path: req.out, kind: req.command, columns: [...log.columns], rows: log.rows },
      {
        command: req.command,
        options: identity.options,
        noiseScale: smoothed.reducer.fixedNoiseScale,
        // a log from before the floating-point deductions was written without them, rounded to nearest
        floatingPoint: previous?.floatingPoint && smoothed.floatingPoint(),
      },
    );
    return describeLog(req, smoothed, copies, log, identity, previous, indices, sharedCalls);
  } catch (e) {
    log.close();
    throw e;
  }
}

function describeLog(
  req: RunRequest,
  smoothed: SmoothedClassifier,
  copies: number,
  log: TsvLog,
  identity: RunIdentity,
  previous: RunManifest | null,
  indices: number[],
  sharedCalls: string[],
): { log: TsvLog; manifest: RunManifest; resumed: ResumedCounts } {
  if (log.done.size > 0 && !previous)
    throw new UsageError(`${req.out} has results but no manifest beside it; choose another --out`);
  const selected = new Set(indices);
  const resumed: ResumedCounts = { correct: 0, abstained: 0 };
  for (const row of log.rows) {
    if (!selected.has(row.idx)) continue;
    if (row.correct) resumed.correct++;
    if (row.predict === ABSTAIN) resumed.abstained++;
  }
  // a finished run run again: nothing to add, and its manifest (finish time, machine) stays as it is
  if (previous?.finished && indices.every((i) => log.done.has(i)))
    return { log, manifest: previous, resumed };
  const geometry = smoothed.reducer.geometry;
  const now = new Date().toISOString();
  const manifest: RunManifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    label: describeMethod(
      req.options,
      copies,
      req.dataset.shape.frames !== undefined,
      req.denoiser?.card.name,
    ),
    ...identity,
    radiusSpace: 'input',
    smoothingSpace: geometry.smoothingSpace,
    noiseScale: smoothed.reducer.fixedNoiseScale,
    floatingPoint: smoothed.floatingPoint(),
    execution: {
      batch: req.options.batch,
      callMemory: req.options.callMemory ?? null,
      device: req.device,
      threads: req.threads,
      ...(sharedCalls.length > 0 ? { sharedCalls } : {}),
    },
    versions: softwareVersions(),
    machine: machineDescription(),
    started: previous?.started ?? now,
    ...(previous ? { resumed: now, earlierSessions: sessionsBefore(previous, log.done.size) } : {}),
    finished: null,
    lines: null,
  };
  writeManifest(req.out, manifest);
  return { log, manifest, resumed };
}

/**
 * One input certified (or predicted): its log line's fields and its progress event, and the log
 * lines of the companions (certified from the same model calls; their time is the shared time).
 */
export async function evaluateInput(
  command: 'certify' | 'predict',
  smoothed: SmoothedClassifier,
  input: Input,
): Promise<{ fields: string[]; event: InputEvent; companionFields: string[][] }> {
  const t = performance.now();
  const { index: idx, label } = input;
  toPixelRange(input.pixels, smoothed.classifier.pixelRange);
  if (command === 'certify') {
    const [c, ...companions] =
      smoothed.companions.length > 0 ? await smoothed.certifyEach(input) : [await smoothed.certify(input)];
    const seconds = (performance.now() - t) / 1000;
    const fields = certifyFields({ idx, label, seconds, ...c });
    const companionFields = companions.map((d) => certifyFields({ idx, label, seconds, ...d }));
    const event = {
      idx,
      label,
      prediction: c.prediction,
      correct: c.prediction === label,
      radius: c.radius,
      seconds,
      pALower: c.pALower,
      counts: Array.from(c.counts),
    };
    return { fields, event, companionFields };
  }
  const p = await smoothed.predict(input);
  const seconds = (performance.now() - t) / 1000;
  const nA = p.prediction === ABSTAIN ? Math.max(...p.counts) : p.counts[p.prediction];
  const fields = predictFields({ idx, label, seconds, ...p, nA, n: smoothed.options.n });
  const event = {
    idx,
    label,
    prediction: p.prediction,
    correct: p.prediction === label,
    radius: 0,
    seconds,
    pValue: p.pValue,
    counts: Array.from(p.counts),
  };
  return { fields, event, companionFields: [] };
}

/**
 * Data readers give pixels in [0, 1]; a model whose card names another range (e.g. [0, 255]) gets
 * them in its range, where the noise is added and sigma is measured.
 */
export function toPixelRange(pixels: Float32Array, range: readonly [number, number] | undefined): void {
  if (!range || (range[0] === 0 && range[1] === 1)) return;
  const [lo, hi] = range;
  for (let i = 0; i < pixels.length; i++) pixels[i] = lo + (hi - lo) * pixels[i];
}

/**
 * Runs `req` to the end: opens (or resumes) the run, evaluates every input not yet in the log,
 * appending its line as soon as it is done, and marks the manifest finished.
 */
export async function runCertification(req: RunRequest, observer: RunObserver): Promise<RunTotals> {
  const run = openRun(req);
  const resumed = run.indices.length - run.todo.length;
  const totals: RunTotals = { total: run.indices.length, resumed, correct: 0, abstained: 0, seconds: 0 };
  observer.start(run.indices.length, resumed, run.manifest, run.resumed);
  const t0 = performance.now();
  const skipped: { idx: number; reason: string }[] = [];
  let readSeconds = 0;
  try {
    for (const [k, idx] of run.todo.entries()) {
      if (req.signal?.aborted) {
        const signal = req.signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT';
        throw new RunInterrupted(signal, resumed + k, run.indices.length);
      }
      const tr = performance.now();
      let input: Input;
      try {
        input = await req.dataset.get(idx);
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        skipped.push({ idx, reason: e.message });
        writeManifest(req.out, { ...run.manifest, skipped });
        observer.skip?.(idx, e.message);
        continue;
      }
      readSeconds += (performance.now() - tr) / 1000;
      const { fields, event, companionFields } = await evaluateInput(req.command, run.smoothed, input);
      // a log that already holds the input (a resumed companion) keeps its line
      if (!run.log.done.has(idx)) run.log.append(fields);
      for (const [i, c] of run.companions.entries())
        if (!c.log.done.has(idx)) c.log.append(companionFields[i]);
      if (event.correct) totals.correct++;
      if (event.prediction === ABSTAIN) totals.abstained++;
      observer.input(event, resumed + k + 1);
    }
  } finally {
    closeRun(run);
  }
  totals.seconds = (performance.now() - t0) / 1000;
  totals.skipped = skipped.length;
  totals.readSeconds = readSeconds;
  finishRun(run, req.out, skipped);
  for (const c of run.companions) finishRun({ ...run, manifest: c.manifest }, c.out, skipped);
  observer.finish(totals);
  return totals;
}

/** Marks the manifest of a run finished: every selected input is in the log. */
export function finishRun(run: OpenRun, out: string, skipped: { idx: number; reason: string }[] = []): void {
  if (run.todo.length === 0 && run.manifest.finished) return;
  if (skipped.length > 0) run.manifest.skipped = skipped;
  run.manifest.finished = new Date().toISOString();
  run.manifest.lines = run.indices.length - skipped.length;
  writeManifest(out, run.manifest);
}
