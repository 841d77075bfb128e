/**
 * `smooth-reduce verify` and `sign`: checking a finished run after the fact (spec section 6), and
 * signing it. Each check is one line of the report:
 * - lines: the log's structure (every selected input once, none else, as its manifest says);
 * - rederive: every line's pA_lower and radii at or below what its counts give (./rederive.ts);
 * - model: the model file is the one the manifest names (modelCheck);
 * - data: the data set has the manifest's size and the log's labels; its selection's digest;
 * - resample: k inputs re-run with the manifest's options give the same line (time aside);
 * - signature: the DSSE envelope beside the log is signed by the key, and its subjects' digests
 *   are the files' (./attest.ts).
 */
import { createHash, randomInt } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { UsageError } from '../core/errors.js';
import { SAMPLER } from '../core/rng.js';
import type { Dataset } from '../data/dataset.js';
import { openDataset, readerOptions } from '../data/open.js';
import { type RunManifest, manifestBeside, manifestPath } from '../io/manifest.js';
import { type LogRow, type ParsedLog, logColumns, readLogFile } from '../io/tsv-log.js';
import type { Classifier } from '../models/classifier.js';
import { DenoisedClassifier } from '../models/denoiser.js';
import { identityDifference, modelFile as onnxFile, modelIdentity } from '../models/model-identity.js';
import { OnnxClassifier } from '../models/onnx-classifier.js';
import { OnnxDenoiser } from '../models/onnx-denoiser.js';
import { defaultSmoothingOptions, parseSmoothingOptions } from '../options.js';
import { packageVersion } from '../package-root.js';
import { evaluateInput } from '../run/certify-run.js';
import { selectIndices } from '../run/selection.js';
import { SmoothedClassifier } from '../smoothed-classifier.js';
import {
  type Statement,
  PREDICATE_TYPE,
  STATEMENT_TYPE,
  openEnvelope,
  readKey,
  sha256Hex,
  signStatement,
} from './attest.js';
import { lineProblem, rederiveParams, toleranceOf } from './rederive.js';

export interface Check {
  name: 'lines' | 'rederive' | 'model' | 'denoiser' | 'data' | 'resample' | 'signature';
  ok: boolean;
  /** one line: what was checked and found */
  summary: string;
}

export interface VerifyRequest {
  log: string;
  /** the model file (or its folder); its card beside it unless `card` */
  model?: string;
  card?: string;
  /** denoised smoothing: the run's denoiser (its folder); needed by resample when the run had one */
  denoiser?: string;
  data?: string;
  labels?: string;
  /** inputs to re-run (needs model and data) */
  resample?: number;
  /** seed of the choice of inputs to re-run (default: a random one, reported) */
  seed?: number;
  /** public key: check the attestation (default `<log>.intoto.json`) */
  key?: string;
  attestation?: string;
  threads?: number;
}

/** A finished run as verify and sign read it. */
interface Run {
  path: string;
  log: ParsedLog;
  manifest: RunManifest;
}

function readRun(path: string): Run {
  const log = readLogFile(path);
  const manifest = manifestBeside(path);
  if (!manifest)
    throw new UsageError(
      `${path} has no manifest (${manifestPath(path)}); there is nothing to check it against`,
    );
  if (
    (manifest.command !== 'certify' && manifest.command !== 'predict') ||
    !manifest.options ||
    !manifest.selection ||
    !manifest.data
  )
    throw new UsageError(`${manifestPath(path)} is not the manifest of a certify or predict run`);
  return { path, log, manifest };
}

/** At most 3 problems, and how many more. */
function summarise(problems: string[]): string {
  const more = problems.length > 3 ? `; and ${problems.length - 3} more` : '';
  return problems.slice(0, 3).join('; ') + more;
}

/** The log's structure against its manifest: columns, every selected input once, nothing else. */
export function structureCheck({ path, log, manifest }: Run): Check {
  const problems: string[] = [];
  const columns = logColumns(manifest.command);
  if (log.columns.join('\t') !== columns.join('\t'))
    problems.push(
      `${path}:1: columns ${log.columns.join(' ')}, a ${manifest.command} log has ${columns.join(' ')}`,
    );
  if (log.torn) problems.push(`${path}: ends with an incomplete line`);
  const expected = selectIndices(manifest.data.size, manifest.selection);
  const selected = new Set(expected);
  const skipped = new Set((manifest.skipped ?? []).map((s) => s.idx));
  const first = new Map<number, number>();
  for (const row of log.rows) {
    const seen = first.get(row.idx);
    if (seen !== undefined)
      problems.push(`${path}:${row.line}: idx ${row.idx} again (first on line ${seen})`);
    else first.set(row.idx, row.line);
    if (!selected.has(row.idx)) problems.push(`${path}:${row.line}: idx ${row.idx} is not in the selection`);
    else if (skipped.has(row.idx)) problems.push(`${path}:${row.line}: idx ${row.idx} is listed as skipped`);
  }
  const missing = expected.filter((i) => !first.has(i) && !skipped.has(i));
  if (missing.length > 0)
    problems.push(`${path}: ${missing.length} selected input(s) missing (first idx ${missing[0]})`);
  if (!manifest.finished) problems.push(`${manifestPath(path)}: the run is not finished`);
  else if (manifest.lines !== null && manifest.lines !== first.size)
    problems.push(`${manifestPath(path)}: says ${manifest.lines} lines, the log has ${log.rows.length}`);
  const s = manifest.selection;
  const selection = `skip ${s.skip}, max ${s.max}${s.shard ? `, shard ${s.shard.index}/${s.shard.count}` : ''}`;
  return {
    name: 'lines',
    ok: problems.length === 0,
    summary:
      problems.length === 0
        ? `${log.rows.length} lines: every selected input once (${expected.length} selected: ${selection}${skipped.size ? `; ${skipped.size} skipped` : ''}), nothing else`
        : summarise(problems),
  };
}

/** Every line's written pA_lower, radius_smoothing and radius against what its counts give. */
export function rederiveCheck({ path, log, manifest }: Run): Check {
  if (manifest.command === 'predict')
    return { name: 'rederive', ok: true, summary: 'a PREDICT log: it certifies no radius to re-derive' };
  const p = rederiveParams(manifest);
  if (typeof p === 'string') return { name: 'rederive', ok: false, summary: `${manifestPath(path)}: ${p}` };
  const tolerance = toleranceOf(manifest);
  const problems: string[] = [];
  let certified = 0;
  for (const row of log.rows) {
    const problem = lineProblem(row, p, tolerance);
    if (problem) problems.push(`${path}:${row.line}: idx ${row.idx}: ${problem}`);
    if (row.predict !== -1) certified++;
  }
  const norm =
    p.noiseScale === null
      ? 'input-space radius not re-derived (its norm is per input)'
      : `norm ${p.noiseScale}`;
  return {
    name: 'rederive',
    ok: problems.length === 0,
    summary:
      problems.length === 0
        ? `${log.rows.length} lines (${certified} certified): pA_lower, radius_smoothing and radius at or below what count_A of n give at sigma ${p.sigma}, alpha ${p.alpha}, deduction ${p.deduction.toExponential(3)}, ${norm}${tolerance === 'rounding' ? ' (an older log rounded to nearest: one unit of its 6th digit allowed)' : ''}`
        : summarise(problems),
  };
}

/** The .onnx file of a model path (a folder means the model.onnx inside it). */
function modelFile(path: string): string {
  const file = onnxFile(path);
  if (!existsSync(file)) throw new UsageError(`no such model: ${file}`);
  return file;
}

/**
 * Whether the model at `path` is the run's: its identity (.onnx, card, external data;
 * ../models/model-identity.ts) against the manifest's, or the .onnx sha256 for older manifests.
 */
export function modelCheck(path: string, manifest: RunManifest, card?: string): Check {
  const recorded = manifest.model;
  // manifests since the model identity record the card and external data: compare all of it
  if (recorded.cardSha256 !== undefined) {
    const here = modelIdentity(path, { card });
    const difference = identityDifference(here, {
      sha256: recorded.sha256,
      cardSha256: recorded.cardSha256,
      externalData: recorded.externalData ?? [],
    });
    return {
      name: 'model',
      ok: difference === null,
      summary:
        difference === null
          ? `${here.path}: .onnx, card and external data as the manifest names (${recorded.name}, sha256 ${here.sha256.slice(0, 16)}...)`
          : `${here.path}: ${difference}`,
    };
  }
  const file = modelFile(path);
  const sha256 = sha256Hex(readFileSync(file));
  const ok = sha256 === recorded.sha256;
  return {
    name: 'model',
    ok,
    summary: ok
      ? `${file}: sha256 ${sha256.slice(0, 16)}... as the manifest names (${recorded.name}; an older manifest: the card is not recorded)`
      : `${file}: sha256 ${sha256.slice(0, 16)}..., the run's model (${recorded.path}) has ${recorded.sha256.slice(0, 16)}...`,
  };
}

/** The denoiser at `path` against the one the manifest names (denoised smoothing). */
export function denoiserCheck(path: string | undefined, manifest: RunManifest): Check {
  const named = manifest.denoiser;
  if (!named)
    return {
      name: 'denoiser',
      ok: path === undefined,
      summary: `the run used no denoiser${path === undefined ? '' : `, but ${path} was given`}`,
    };
  if (path === undefined)
    return {
      name: 'denoiser',
      ok: false,
      summary: `the run used the denoiser ${named.path}: pass --denoiser`,
    };
  const file = modelFile(path);
  const sha256 = sha256Hex(readFileSync(file));
  const ok = sha256 === named.sha256;
  return {
    name: 'denoiser',
    ok,
    summary: ok
      ? `${file}: sha256 ${sha256.slice(0, 16)}... as the manifest names (${named.name})`
      : `${file}: sha256 ${sha256.slice(0, 16)}..., the run's denoiser (${named.path}) has ${named.sha256.slice(0, 16)}...`,
  };
}

/** The base classifier of a run for re-running it: the model, behind the run's denoiser if it had one. */
async function runClassifier(
  manifest: RunManifest,
  classifier: OnnxClassifier,
  denoiser: string | undefined,
  threads: number | undefined,
): Promise<Classifier> {
  if (!manifest.denoiser) return classifier;
  if (denoiser === undefined)
    throw new UsageError(`the run used the denoiser ${manifest.denoiser.path}: --resample needs --denoiser`);
  const sigma = Number(manifest.options.sigma);
  return new DenoisedClassifier(await OnnxDenoiser.load(denoiser, { sigma, threads }), classifier);
}

/** The data set of a run, read as the run read it (its manifest's transform). */
function openRunData(
  data: string,
  labels: string | undefined,
  manifest: RunManifest,
  classifier: OnnxClassifier | null,
): Dataset {
  const transform = manifest.data.transform ?? {};
  if (transform.frames !== undefined && !classifier)
    throw new UsageError('the run read video clips: --data needs --model too (its channels)');
  const model = classifier
    ? { path: classifier.path, channels: classifier.inputShape.channels }
    : { path: '', channels: 0 };
  return openDataset(data, readerOptions(transform, labels, model));
}

const DIGEST_HEADER = 'smooth-reduce data selection v1\n';

/**
 * The digest of the inputs a log holds: sha256 over a header line and, for each idx in increasing
 * order, idx (uint32), label (int32), the pixel count (uint32) and the pixels as the reader gives
 * them (float32), all little-endian (docs/attestation.md).
 */
export async function selectionDigest(
  dataset: Dataset,
  indices: readonly number[],
  onInput?: (idx: number, label: number) => void,
): Promise<string> {
  const hash = createHash('sha256').update(DIGEST_HEADER);
  for (const idx of [...indices].sort((a, b) => a - b)) {
    const input = await dataset.get(idx);
    const head = Buffer.alloc(12);
    head.writeUInt32LE(idx, 0);
    head.writeInt32LE(input.label, 4);
    head.writeUInt32LE(input.pixels.length, 8);
    hash.update(head);
    const px = Buffer.from(input.pixels.buffer, input.pixels.byteOffset, input.pixels.byteLength);
    hash.update(px);
    onInput?.(idx, input.label);
  }
  return hash.digest('hex');
}

async function dataCheck(
  run: Run,
  dataset: Dataset,
  spec: string,
): Promise<{ check: Check; digest: string }> {
  const problems: string[] = [];
  if (dataset.size !== run.manifest.data.size)
    problems.push(`${spec} has ${dataset.size} inputs, the run's data ${run.manifest.data.size}`);
  const rows = new Map(run.log.rows.map((r) => [r.idx, r]));
  const inRange = [...rows.keys()].filter((i) => i < dataset.size);
  const digest = await selectionDigest(dataset, inRange, (idx, label) => {
    const row = rows.get(idx) as LogRow;
    if (row.label !== label)
      problems.push(`${run.path}:${row.line}: idx ${idx} has label ${row.label}, the data ${label}`);
  });
  return {
    digest,
    check: {
      name: 'data',
      ok: problems.length === 0,
      summary:
        problems.length === 0
          ? `${spec}: ${dataset.size} inputs as the manifest says, the labels of all ${inRange.length} logged inputs as in the log; selection sha256 ${digest.slice(0, 16)}...`
          : summarise(problems),
    },
  };
}

/** The smoothing options a manifest records, for re-running its inputs. */
function manifestOptions(manifest: RunManifest) {
  const { sampler, ...recorded } = manifest.options;
  // the denoiser is part of the base classifier (runClassifier), not a smoothing option
  const rest = Object.fromEntries(Object.entries(recorded).filter(([k]) => k !== 'denoiser'));
  if (sampler !== SAMPLER)
    throw new UsageError(
      `the run drew its noise with sampler ${String(sampler)}, this version with ${SAMPLER}: its inputs cannot be re-run`,
    );
  const given = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== null));
  return parseSmoothingOptions({ ...given, batch: defaultSmoothingOptions.batch });
}

/** 32-bit seeded generator (mulberry32), for the choice of inputs to re-run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** `k` of the rows, chosen at random with `seed`, in log order. */
export function chooseRows(rows: readonly LogRow[], k: number, seed: number): LogRow[] {
  const order = rows.map((_, i) => i);
  const next = mulberry32(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order
    .slice(0, k)
    .sort((a, b) => a - b)
    .map((i) => rows[i]);
}

async function resampleCheck(
  run: Run,
  classifier: Classifier,
  dataset: Dataset,
  k: number,
  seed: number,
): Promise<Check> {
  const chosen = chooseRows(run.log.rows, Math.min(k, run.log.rows.length), seed);
  const smoothed = new SmoothedClassifier(classifier, dataset.shape, manifestOptions(run.manifest));
  const problems: string[] = [];
  for (const row of chosen) {
    const input = await dataset.get(row.idx);
    const { fields } = await evaluateInput(run.manifest.command, smoothed, input);
    const columns = logColumns(run.manifest.command);
    const differ = columns
      .map((c, j) => [c, fields[j]] as const)
      .filter(([c, v]) => c !== 'time' && row.fields[c] !== v)
      .map(([c, v]) => `${c} ${v} (log: ${row.fields[c]})`);
    if (differ.length > 0)
      problems.push(`${run.path}:${row.line}: idx ${row.idx} re-run gives ${differ.join(', ')}`);
  }
  const which = `seed ${seed}: idx ${chosen.map((r) => r.idx).join(', ')}`;
  return {
    name: 'resample',
    ok: problems.length === 0,
    summary:
      problems.length === 0
        ? `${chosen.length} input(s) re-run (${which}): every line identical, time aside`
        : `${summarise(problems)} (${which})`,
  };
}

/** The subjects a run's attestation names, in order: log, manifest, model, data selection. */
function subjects(run: Run, dataDigest: string): Statement['subject'] {
  return [
    { name: basename(run.path), digest: { sha256: sha256Hex(readFileSync(run.path)) } },
    {
      name: basename(manifestPath(run.path)),
      digest: { sha256: sha256Hex(readFileSync(manifestPath(run.path))) },
    },
    { name: run.manifest.model.path, digest: { sha256: run.manifest.model.sha256 } },
    { name: `data-selection:${run.manifest.data.spec}`, digest: { sha256: dataDigest } },
    ...(run.manifest.denoiser
      ? [{ name: run.manifest.denoiser.path, digest: { sha256: run.manifest.denoiser.sha256 } }]
      : []),
  ];
}

function signatureCheck(
  run: Run,
  keyPath: string,
  attestation: string,
  dataDigest: string | null,
  model: string | undefined,
): Check {
  const check = (ok: boolean, summary: string): Check => ({ name: 'signature', ok, summary });
  if (!existsSync(attestation))
    return check(false, `no attestation ${attestation} (smooth-reduce sign writes one)`);
  const key = readKey(keyPath, 'public');
  const opened = openEnvelope(readFileSync(attestation, 'utf8'), key);
  if (typeof opened === 'string') return check(false, `${attestation}: ${opened}`);
  const { statement, keyid } = opened;
  if (statement.predicateType !== PREDICATE_TYPE)
    return check(false, `${attestation}: predicateType ${statement.predicateType}, not ${PREDICATE_TYPE}`);
  const expected = subjects(run, dataDigest ?? '');
  const got = statement.subject;
  const problems: string[] = [];
  const roles = ['log', 'manifest', 'model', 'data selection', 'denoiser'];
  if (got.length !== expected.length) problems.push(`${got.length} subjects, expected ${expected.length}`);
  expected.forEach((e, i) => {
    if (i === 3 && dataDigest === null) return;
    if (got[i]?.digest?.sha256 !== e.digest.sha256)
      problems.push(`the ${roles[i]}'s sha256 is not the signed one`);
  });
  if (model && got[2]?.digest?.sha256 !== sha256Hex(readFileSync(modelFile(model))))
    problems.push(`${model} is not the signed model`);
  if (problems.length > 0) return check(false, `${attestation}: ${problems.join('; ')}`);
  return check(
    true,
    `${attestation}: signed by key ${keyid.slice(0, 16)}..., subjects log, manifest, model${dataDigest === null ? ' (data selection not recomputed: no --data)' : ' and data selection'} match`,
  );
}

/** Every check the request asks for, in order; the model is loaded only for --resample or video data. */
export async function verifyRun(req: VerifyRequest): Promise<Check[]> {
  const run = readRun(req.log);
  const checks = [structureCheck(run), rederiveCheck(run)];
  if (req.model) checks.push(modelCheck(req.model, run.manifest, req.card));
  if (req.denoiser !== undefined || (run.manifest.denoiser && req.model))
    checks.push(denoiserCheck(req.denoiser, run.manifest));
  if (req.resample !== undefined && (!req.model || !req.data))
    throw new UsageError('--resample needs --model and --data');
  const video = run.manifest.data.transform?.frames !== undefined;
  const classifier =
    req.model && (req.resample !== undefined || (req.data && video))
      ? await OnnxClassifier.load(req.model, { card: req.card, threads: req.threads })
      : null;
  try {
    let digest: string | null = null;
    if (req.data) {
      const dataset = openRunData(req.data, req.labels, run.manifest, classifier);
      const d = await dataCheck(run, dataset, req.data);
      digest = d.digest;
      checks.push(d.check);
      if (req.resample !== undefined && classifier) {
        const seed = req.seed ?? randomInt(2 ** 31);
        const base = await runClassifier(run.manifest, classifier, req.denoiser, req.threads);
        checks.push(await resampleCheck(run, base, dataset, req.resample, seed));
      }
    }
    if (req.key)
      checks.push(
        signatureCheck(run, req.key, req.attestation ?? attestationPath(req.log), digest, req.model),
      );
  } finally {
    await classifier?.dispose();
  }
  return checks;
}

export const attestationPath = (log: string) => `${log}.intoto.json`;

export interface SignRequest {
  log: string;
  key: string;
  model: string;
  /** the run's denoiser, required when its manifest names one */
  denoiser?: string;
  data: string;
  labels?: string;
  card?: string;
}

/** The radii at which the predicate reports certified accuracy (input space). */
const RADII = [0, 0.25, 0.5, 0.75, 1];

/**
 * Signs a finished run: checks it first (structure, re-derivation, model, data), then writes
 * `<log>.intoto.json`, an in-toto Statement over the log, manifest, model and data selection.
 */
export async function signRun(req: SignRequest): Promise<{ path: string; keyid: string; checks: Check[] }> {
  const key = readKey(req.key, 'private');
  const run = readRun(req.log);
  const checks = [structureCheck(run), rederiveCheck(run), modelCheck(req.model, run.manifest, req.card)];
  if (req.denoiser !== undefined || run.manifest.denoiser)
    checks.push(denoiserCheck(req.denoiser, run.manifest));
  const video = run.manifest.data.transform?.frames !== undefined;
  const classifier = video ? await OnnxClassifier.load(req.model, { card: req.card, threads: 1 }) : null;
  let digest: string;
  try {
    const d = await dataCheck(run, openRunData(req.data, req.labels, run.manifest, classifier), req.data);
    checks.push(d.check);
    digest = d.digest;
  } finally {
    await classifier?.dispose();
  }
  const failed = checks.find((c) => !c.ok);
  if (failed) throw new UsageError(`will not sign ${req.log}: ${failed.name}: ${failed.summary}`);
  const m = run.manifest;
  const rows = run.log.rows;
  const certifiedAt = (r: number) =>
    rows.filter((x) => x.correct && (x.radius ?? 0) >= r).length / rows.length;
  const statement: Statement = {
    _type: STATEMENT_TYPE,
    subject: subjects(run, digest),
    predicateType: PREDICATE_TYPE,
    predicate: {
      tool: { name: 'smooth-reduce', version: packageVersion },
      run: {
        label: m.label,
        command: m.command,
        options: m.options,
        model: m.model,
        data: { ...m.data, selection: m.selection },
        radiusSpace: m.radiusSpace,
        smoothingSpace: m.smoothingSpace,
        noiseScale: m.noiseScale,
        floatingPoint: m.floatingPoint ?? null,
        started: m.started,
        finished: m.finished,
      },
      results: {
        inputs: rows.length,
        correct: rows.filter((x) => x.correct).length,
        abstained: rows.filter((x) => x.predict === -1).length,
        ...(m.command === 'certify'
          ? {
              certifiedAccuracy: RADII.map((radius) => ({ radius, accuracy: certifiedAt(radius) })),
              acr: rows.reduce((s, x) => s + (x.correct ? (x.radius ?? 0) : 0), 0) / rows.length,
            }
          : {}),
      },
      checks: checks.map((c) => ({ name: c.name, summary: c.summary })),
    },
  };
  const envelope = signStatement(statement, key);
  const path = attestationPath(req.log);
  writeFileSync(path, JSON.stringify(envelope, null, 2) + '\n');
  return { path, keyid: envelope.signatures[0].keyid, checks };
}
