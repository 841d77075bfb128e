/**
 * `smooth-reduce worker`: takes jobs from the queue with a BullMQ Worker (one job at a time), runs
 * each input with the library exactly as a local run does (runInput: SmoothedClassifier, the same
 * log line) and appends the line to the run's results stream as soon as it is done, so a worker that
 * dies loses at most the input it was running.
 *
 * A worker that dies silently (SIGKILL, power loss) stops renewing its job's lock; another worker's
 * stalled-job check then returns the job to the queue. A job that fails `attempts` times (a corrupt
 * input, a model no worker can read) is left in the failed set, where the collector reports it.
 */
import { hostname } from 'node:os';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { InputError, UsageError } from '../core/errors.js';
import type { Dataset } from '../data/dataset.js';
import { openDataset, readerOptions } from '../data/open.js';
import type { Device } from '../models/onnx-classifier.js';
import { evaluateInput } from '../run/certify-run.js';
import { parseSmoothingOptions } from '../options.js';
import { SmoothedClassifier } from '../smoothed-classifier.js';
import type { Classifier } from '../models/classifier.js';
import { DenoisedClassifier } from '../models/denoiser.js';
import { identityDifference } from '../models/model-identity.js';
import { OnnxDenoiser } from '../models/onnx-denoiser.js';
import { denoiserCardSha256 } from '../run/certify-run.js';
import { connectRedis, redactRedisUrl } from './connection.js';
import { ModelCache } from './model-cache.js';
import {
  type JobPayload,
  type RunSpec,
  JOB_VERSION,
  PREFIX,
  QUEUE_NAME,
  jobSchema,
  keys,
} from './protocol.js';

export interface WorkerOptions {
  url: string;
  device: Device;
  threads?: number;
  /** folders searched for models by content */
  models: string[];
  /** recorded with every result (default host:pid) */
  name?: string;
  /** seconds a job stays claimed by a worker that stopped answering before another takes it (30) */
  lockSeconds?: number;
  /** one line per job, connection trouble */
  log: (line: string) => void;
}

export interface RunningWorker {
  name: string;
  /** finishes the current job and stops; with `force`, returns it to the queue at once */
  close(force?: boolean): Promise<void>;
}

/** "3", "3..7" or "3, 5, 9..11": the inputs of a job, for messages. */
export function describeIndices(indices: number[]): string {
  const parts: string[] = [];
  for (let k = 0; k < indices.length;) {
    let j = k;
    while (j + 1 < indices.length && indices[j + 1] === indices[j] + 1) j++;
    parts.push(j > k ? `${indices[k]}..${indices[j]}` : String(indices[k]));
    k = j + 1;
  }
  return parts.join(', ');
}

/** The data sets and smoothed classifiers of the runs a worker has seen (the last few). */
/** Whether a smoothed classifier's base classifier is `classifier` behind `denoiser` (or alone). */
function usesModels(base: Classifier, classifier: Classifier, denoiser: OnnxDenoiser | null): boolean {
  if (base instanceof DenoisedClassifier) return base.base === classifier && base.denoiser === denoiser;
  return base === classifier && denoiser === null;
}

class Recent<T> {
  private readonly items = new Map<string, T>();
  constructor(private readonly capacity: number) {}
  get(key: string): T | undefined {
    return this.items.get(key);
  }
  set(key: string, item: T): void {
    this.items.delete(key);
    this.items.set(key, item);
    if (this.items.size > this.capacity) this.items.delete(this.items.keys().next().value as string);
  }
}

/**
 * An input's entry in the results stream: its log line (`l`) and its companions' (`c`), or, for an
 * input that cannot be read (a corrupt or short video, which a local run skips), the reason (`s`).
 */
async function resultFields(
  command: RunSpec['command'],
  g: SmoothedClassifier,
  dataset: Dataset,
  idx: number,
): Promise<string[]> {
  let input;
  try {
    input = await dataset.get(idx);
  } catch (e) {
    if (e instanceof InputError) return ['s', e.message];
    throw e;
  }
  const { fields, companionFields } = await evaluateInput(command, g, input);
  const lines = ['l', fields.join('\t')];
  if (companionFields.length > 0) lines.push('c', companionFields.map((f) => f.join('\t')).join('\n'));
  return lines;
}

export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const lock = (options.lockSeconds ?? 30) * 1000;
  let lastTrouble = 0;
  const trouble = (e: Error) => {
    // one line at most every 10 s while Redis is away
    if (Date.now() - lastTrouble < 10_000) return;
    lastTrouble = Date.now();
    options.log(`worker ${name}: Redis connection: ${e.message.split('\n')[0]} (retrying)`);
  };
  const redis = await connectRedis(options.url, trouble);
  const models = new ModelCache({ device: options.device, threads: options.threads, search: options.models });
  const datasets = new Recent<Dataset>(2);
  const smoothers = new Recent<SmoothedClassifier>(2);
  const denoisers = new Recent<OnnxDenoiser>(2);

  /** The run's denoiser (by path, at the run's sigma), refused unless its identity is the run's. */
  const denoiserFor = async (spec: RunSpec): Promise<OnnxDenoiser | null> => {
    const ref = spec.denoiser;
    if (!ref) return null;
    const sigma = Number(spec.options.sigma);
    const key = JSON.stringify([ref, sigma]);
    let d = denoisers.get(key);
    if (!d) {
      d = await OnnxDenoiser.load(ref.path, { sigma, device: options.device, threads: options.threads });
      const here = { sha256: d.sha256, externalData: d.externalData, cardSha256: denoiserCardSha256(d.card) };
      const diff = identityDifference(here, ref);
      if (diff) {
        await d.dispose();
        throw new UsageError(`the denoiser ${ref.path}: ${diff.replace('model card', 'denoiser card')}`);
      }
      denoisers.set(key, d);
    }
    return d;
  };

  const smoothed = async (spec: RunSpec): Promise<{ g: SmoothedClassifier; dataset: Dataset }> => {
    const { data } = spec;
    const classifier = await models.get(spec.model);
    const reader = readerOptions(data.transform, data.labels ?? undefined, {
      path: classifier.path,
      channels: classifier.inputShape.channels,
    });
    const dataKey = JSON.stringify([data.spec, reader]);
    let dataset = datasets.get(dataKey);
    if (!dataset) {
      dataset = openDataset(data.spec, reader);
      datasets.set(dataKey, dataset);
    }
    if (dataset.size !== data.size || dataset.description !== data.description) {
      throw new UsageError(
        `data ${data.spec} here is "${dataset.description}" (${dataset.size} inputs), the run's is "${data.description}" (${data.size})`,
      );
    }
    const denoiser = await denoiserFor(spec);
    const key = JSON.stringify([spec.model, spec.denoiser, data, spec.options, spec.companions]);
    let g = smoothers.get(key);
    // a model (or denoiser) evicted from its cache and loaded again is a new session
    if (!g || !usesModels(g.classifier, classifier, denoiser)) {
      g = new SmoothedClassifier(
        denoiser ? new DenoisedClassifier(denoiser, classifier) : classifier,
        dataset.shape,
        parseSmoothingOptions(spec.options),
        spec.companions,
      );
      smoothers.set(key, g);
    }
    return { g, dataset };
  };

  const processJob = async (job: Job): Promise<{ inputs: number }> => {
    const parsed = jobSchema.safeParse(job.data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UnrecoverableError(
        `not a smooth-reduce job of version ${JOB_VERSION} (${issue.path.join('.')}: ${issue.message}); is this worker older than the producer?`,
      );
    }
    const p: JobPayload = parsed.data;
    const t0 = performance.now();
    const { g, dataset } = await smoothed(p.spec);
    let done = 0;
    for (const idx of p.indices) {
      // a cancelled or removed run stops after the current input
      if ((await redis.hget(keys.run(p.run), 'status')) !== 'running') break;
      const result = await resultFields(p.spec.command, g, dataset, idx);
      await redis.xadd(keys.results(p.run), '*', 'i', String(idx), 'w', name, ...result);
      done++;
      await job.updateProgress(done);
    }
    // "input 0: done in 1.0 s", "input 3..5: done in 2.9 s", "input 3..5: 1 of 3 done (the run stopped) ..."
    const what = done === p.indices.length ? 'done' : `${done} of ${p.indices.length} done (the run stopped)`;
    options.log(
      `worker ${name}: run ${p.run} input ${describeIndices(p.indices)}: ${what} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    return { inputs: done };
  };

  const worker = new Worker(QUEUE_NAME, processJob, {
    connection: redis,
    prefix: PREFIX,
    name,
    concurrency: 1,
    lockDuration: lock,
    stalledInterval: lock,
    maxStalledCount: 3,
    autorun: false,
  });
  worker.on('error', trouble);
  worker.on('failed', (job, e) => {
    if (!job) return;
    const attempts = job.opts.attempts ?? 1;
    const final = e instanceof UnrecoverableError || job.attemptsMade >= attempts;
    options.log(
      `worker ${name}: job ${job.id} failed (attempt ${job.attemptsMade} of ${attempts}${final ? ', giving up' : ''}): ${e.message.split('\n')[0]}`,
    );
  });
  void worker.run().catch(trouble);
  await worker.waitUntilReady();
  options.log(`worker ${name}: waiting for jobs on ${redactRedisUrl(options.url)}`);
  return {
    name,
    async close(force = false) {
      await worker.close(force);
      await models.dispose();
      redis.disconnect();
    },
  };
}
