/**
 * `certify --queue`: the producer and collector of one run. It opens the run like a local run (the
 * same log, manifest and resume rules), registers it in Redis, enqueues one BullMQ job per chunk of
 * inputs not yet in the log, and appends the workers' lines to the log as they arrive, with the
 * usual progress display, until every input is in the log.
 *
 * Nothing is lost or written twice when any process dies: workers append each finished input to the
 * run's results stream, which stays in Redis until the run is finished; a restarted collector reads
 * the stream from its start and skips the inputs its log already has. Job ids are derived from the
 * run id and the first input, so enqueueing again adds nothing that is already queued.
 *
 * Companion runs (`--also`) travel with the run: workers certify them from the same model calls
 * and send their lines with the run's, and each lands in its own log, as in a local run.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Queue } from 'bullmq';
import { ABSTAIN } from '../core/smooth.js';
import { manifestBeside, writeManifest } from '../io/manifest.js';
import { formatLine, parseLog, rowFields } from '../io/tsv-log.js';
import {
  type InputEvent,
  type OpenRun,
  type RunObserver,
  type RunRequest,
  type RunTotals,
  closeRun,
  finishRun,
  openRun,
  denoiserCardSha256,
  runIdentity,
} from '../run/certify-run.js';
import { connectRedis, redactRedisUrl } from './connection.js';
import {
  type JobPayload,
  type RunSpec,
  JOB_FORMAT,
  JOB_VERSION,
  PREFIX,
  QUEUE_NAME,
  jobIdOf,
  keys,
  runIdOf,
} from './protocol.js';
import { describeIndices } from './worker.js';

export interface QueueRunOptions {
  /** the Redis URL */
  url: string;
  /** inputs per job */
  chunk: number;
  /** attempts per job before it is reported as failed */
  attempts: number;
  /** the run's model card path, when not model.json beside the model */
  card: string | null;
  /** the IDX labels file the user named, if any */
  labels: string | null;
  /** one-line notices (run id, how to start workers); nothing when quiet */
  notice: (line: string) => void;
  /** seconds between checks for failed jobs, cancellation and manifest updates (2) */
  checkSeconds?: number;
}

type StreamEntry = [id: string, fields: string[]];

/** "0..3, 7" back to [0, 1, 2, 3, 7]. */
function parseIndices(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',')) {
    const [a, b] = part.trim().split('..').map(Number);
    if (!Number.isInteger(a)) continue;
    for (let i = a; i <= (Number.isInteger(b) ? b : a); i++) out.push(i);
  }
  return out;
}

function chunks(indices: number[], size: number): number[][] {
  const out: number[][] = [];
  for (let k = 0; k < indices.length; k += size) out.push(indices.slice(k, k + size));
  return out;
}

export async function runOnQueue(
  req: RunRequest,
  q: QueueRunOptions,
  observer: RunObserver,
): Promise<RunTotals> {
  const redisName = redactRedisUrl(q.url);
  let lastTrouble = 0;
  const trouble = (e: Error) => {
    if (Date.now() - lastTrouble < 10_000) return;
    lastTrouble = Date.now();
    q.notice(`Redis connection: ${e.message.split('\n')[0]} (retrying)`);
  };
  // before the log is touched: an unreachable Redis changes nothing
  const redis = await connectRedis(q.url, trouble);
  const reader = redis.duplicate();
  reader.on('error', trouble);
  const queue = new Queue(QUEUE_NAME, { connection: redis, prefix: PREFIX });
  queue.on('error', trouble);
  let run: OpenRun | null = null;
  try {
    const previousWorkers = manifestBeside(req.out)?.queue?.workers ?? {};
    run = openRun(req);
    return await collect(run, req, q, { redis, reader, queue, redisName, previousWorkers }, observer);
  } finally {
    if (run) closeRun(run);
    await queue.close();
    reader.disconnect();
    redis.disconnect();
  }
}

interface Connections {
  redis: Awaited<ReturnType<typeof connectRedis>>;
  reader: Awaited<ReturnType<typeof connectRedis>>;
  queue: Queue;
  redisName: string;
  previousWorkers: Record<string, { inputs: number; indices: string }>;
}

async function collect(
  run: OpenRun,
  req: RunRequest,
  q: QueueRunOptions,
  c: Connections,
  observer: RunObserver,
): Promise<RunTotals> {
  const { redis, reader, queue } = c;
  const { manifest, indices } = run;
  /** the run's own log first, then its companions' */
  const logs = [{ out: req.out, log: run.log, manifest }, ...run.companions];
  // the workers choose their device and threads; `queue.workers` says who ran what
  for (const r of logs)
    r.manifest.execution = { ...r.manifest.execution, device: 'queue workers', threads: null };
  const companions = (req.companions ?? []).map((c) => c.overrides);
  const id = runIdOf(runIdentity(req, run.smoothed.denoising), companions);
  const recordKey = keys.run(id);
  const resultsKey = keys.results(id);
  const spec: RunSpec = {
    command: req.command,
    model: {
      path: req.model.path,
      sha256: req.model.sha256,
      externalData: req.model.externalData ?? [],
      cardSha256: req.model.cardSha256 ?? null,
      card: q.card,
      name: req.model.card.name,
    },
    denoiser: req.denoiser
      ? {
          path: req.denoiser.path,
          sha256: req.denoiser.sha256,
          externalData: req.denoiser.externalData,
          cardSha256: denoiserCardSha256(req.denoiser.card),
        }
      : null,
    data: {
      spec: req.dataSpec,
      labels: q.labels,
      transform: Object.fromEntries(
        Object.entries(req.dataTransform ?? {}).filter(([, v]) => v !== undefined),
      ) as RunSpec['data']['transform'],
      size: req.dataset.size,
      description: req.dataset.description,
    },
    options: { ...req.options } as Record<string, unknown>,
    companions,
  };
  const now = new Date().toISOString();
  await redis
    .multi()
    .hsetnx(recordKey, 'created', now)
    .hset(recordKey, {
      spec: JSON.stringify(spec),
      label: manifest.label,
      total: String(indices.length),
      status: 'running',
      collector: `${hostname()}:${process.pid} ${resolve(req.out)}`,
      updated: now,
    })
    .zadd(keys.runs, 'NX', Date.now(), id)
    .exec();

  /** inputs the workers could not read (corrupt or short videos): no log line, as in a local run */
  const skipped: { idx: number; reason: string }[] = [];
  // who ran what: from the previous manifest, then from the results stream
  const byWorker = new Map<string, number[]>();
  const attributed = new Set<number>();
  const attribute = (worker: string, idx: number) => {
    if (attributed.has(idx)) return;
    attributed.add(idx);
    let list = byWorker.get(worker);
    if (!list) byWorker.set(worker, (list = []));
    list.push(idx);
  };
  for (const [worker, entry] of Object.entries(c.previousWorkers))
    for (const idx of parseIndices(entry.indices)) attribute(worker, idx);
  const saveManifest = () => {
    const record = {
      redis: c.redisName,
      run: id,
      chunk: q.chunk,
      attempts: q.attempts,
      workers: Object.fromEntries(
        [...byWorker.entries()]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([w, list]) => {
            const sorted = [...list].sort((a, b) => a - b);
            return [w, { inputs: sorted.length, indices: describeIndices(sorted) }];
          }),
      ),
    };
    for (const r of logs) {
      r.manifest.queue = record;
      if (skipped.length > 0) r.manifest.skipped = [...skipped].sort((a, b) => a.idx - b.idx);
      writeManifest(r.out, r.manifest);
    }
  };

  const selected = new Set(indices);
  const todoAtStart = new Set(run.todo);
  const done = new Set(indices.filter((i) => !todoAtStart.has(i)));
  const resumed = indices.length - run.todo.length;
  const summary: RunTotals = { total: indices.length, resumed, correct: 0, abstained: 0, seconds: 0 };
  const headers = logs.map((r) => formatLine(r.log.columns));
  observer.start(indices.length, resumed, manifest, run.resumed);
  const t0 = performance.now();
  let changed = false;
  // lines are written in selection order, as a local run writes them: a line that arrives early
  // waits here (it is safe in the results stream meanwhile)
  // (one line per log: the run's own, then its companions'; a log that already holds the input, a
  // resumed companion, keeps its line)
  // (null: an input no worker could read, which has no line)
  const pending = new Map<number, string[][] | null>();
  const append = (idx: number, lines: string[][]) => {
    for (const [k, r] of logs.entries()) if (!r.log.done.has(idx)) r.log.append(lines[k]);
  };
  // A line whose predecessors are missing is never written out of order, not even when the run
  // stops (cancel, failure): it stays in the results stream, and the rerun writes it in its place.
  let next = 0;
  let written = resumed;
  const write = () => {
    for (; next < indices.length; next++) {
      const idx = indices[next];
      if (!todoAtStart.has(idx)) continue;
      const lines = pending.get(idx);
      if (lines === undefined) break;
      if (lines) append(idx, lines);
      written++;
      pending.delete(idx);
    }
  };
  /** how the log stands when the run stops early: what is in it, what waits in Redis */
  const stopped = () => {
    const waiting = [...pending.values()].filter((l) => l !== null).length;
    const inLog = written - skipped.filter((s) => !pending.has(s.idx)).length;
    return (
      `${inLog} of ${indices.length} inputs are in ${req.out}` +
      (waiting > 0
        ? `; ${waiting} more finished input(s) wait in the run's results on Redis, to be written in index order by the rerun (queue clean drops them)`
        : '')
    );
  };
  const take = ([, entry]: StreamEntry) => {
    const f: Record<string, string> = {};
    for (let k = 0; k + 1 < entry.length; k += 2) f[entry[k]] = entry[k + 1];
    const idx = Number(f.i);
    if (!selected.has(idx) || (typeof f.l !== 'string' && typeof f.s !== 'string')) return;
    attribute(f.w ?? 'unknown', idx);
    changed = true;
    if (done.has(idx)) return;
    if (typeof f.l !== 'string') {
      pending.set(idx, null);
      done.add(idx);
      skipped.push({ idx, reason: f.s });
      observer.skip?.(idx, f.s);
      return;
    }
    const texts = [f.l, ...(companions.length > 0 ? (f.c ?? '').split('\n') : [])];
    if (texts.length !== logs.length)
      throw new Error(
        `results of run ${id}: input ${idx} came with ${texts.length - 1} companion line(s), the run has ${companions.length}`,
      );
    // read by the log's own parser: a malformed line stops the run here, not in the log
    const parsed = texts.map((text, k) => parseLog(headers[k] + formatLine([text]), `results of run ${id}`));
    const row = parsed[0].rows[0];
    pending.set(
      idx,
      parsed.map((p) => rowFields(p, p.rows[0])),
    );
    done.add(idx);
    const event: InputEvent = {
      idx,
      label: row.label,
      prediction: row.predict,
      correct: row.correct,
      radius: row.radius ?? 0,
      seconds: row.time,
    };
    if (event.correct) summary.correct++;
    if (event.prediction === ABSTAIN) summary.abstained++;
    observer.input(event, done.size);
  };

  // 1. what workers finished while no collector was running
  let last = '0-0';
  for (;;) {
    const from = last === '0-0' ? '-' : `(${last}`;
    const page = (await redis.xrange(resultsKey, from, '+', 'COUNT', 1000)) as StreamEntry[];
    if (page.length === 0) break;
    page.forEach(take);
    write();
    last = page[page.length - 1][0];
  }

  // 2. failed jobs of this run get another chance; 3. enqueue what is neither done nor queued
  const mine = (jobId: string) => jobId.startsWith(`${id}-`);
  for (const jobId of (await queue.getRanges(['failed'], 0, -1)).filter(mine)) {
    const job = await queue.getJob(jobId);
    await job?.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
  }
  const todo = indices.filter((i) => !done.has(i));
  const jobs = chunks(todo, q.chunk).map((ix) => {
    const data: JobPayload = { format: JOB_FORMAT, version: JOB_VERSION, run: id, spec, indices: ix };
    return {
      name: id,
      data,
      opts: {
        jobId: jobIdOf(id, ix),
        attempts: q.attempts,
        backoff: { type: 'fixed' as const, delay: 1000 },
        removeOnComplete: true,
        removeOnFail: false,
      },
    };
  });
  for (let k = 0; k < jobs.length; k += 500) await queue.addBulk(jobs.slice(k, k + 500));
  if (todo.length > 0) {
    q.notice(
      `run ${id}: ${todo.length} of ${indices.length} inputs queued in ${jobs.length} jobs on ${c.redisName}; ` +
        `start workers with: smooth-reduce worker --queue ${c.redisName}`,
    );
  }

  // 4. collect until every input is in the log, or what is missing has failed
  const check = (q.checkSeconds ?? 2) * 1000;
  let nextCheck = performance.now() + check;
  while (done.size < indices.length) {
    const reply = (await reader.xread('COUNT', 500, 'BLOCK', 1000, 'STREAMS', resultsKey, last)) as
      [string, StreamEntry[]][] | null;
    for (const [, entries] of reply ?? []) {
      entries.forEach(take);
      if (entries.length) last = entries[entries.length - 1][0];
    }
    write();
    if (performance.now() < nextCheck || done.size === indices.length) continue;
    nextCheck = performance.now() + check;
    if (changed) {
      saveManifest();
      // `queue status` shows when the run last moved, not only when it was created
      await redis.hset(recordKey, 'updated', new Date().toISOString());
    }
    changed = false;
    const status = await redis.hget(recordKey, 'status');
    if (status !== 'running') {
      saveManifest();
      const why = status === null ? 'removed (queue clean)' : `${status} (queue cancel)`;
      throw new Error(`run ${id} was ${why}; ${stopped()}`);
    }
    const failure = await failures(queue, id, mine, done, indices.length, stopped());
    if (failure) {
      saveManifest();
      await redis.hset(recordKey, { status: 'failed', updated: new Date().toISOString() });
      throw new Error(failure);
    }
  }
  write();
  saveManifest();
  finishRun(run, req.out, skipped);
  for (const c of run.companions) finishRun({ ...run, manifest: c.manifest }, c.out, skipped);
  await redis
    .multi()
    .hset(recordKey, { status: 'finished', updated: new Date().toISOString() })
    .del(resultsKey)
    .exec();
  summary.seconds = (performance.now() - t0) / 1000;
  observer.finish(summary);
  return summary;
}

/** One line when every input still missing belongs to a job that failed for good, else null. */
async function failures(
  queue: Queue,
  id: string,
  mine: (jobId: string) => boolean,
  done: Set<number>,
  total: number,
  /** where the finished inputs are */
  where: string,
): Promise<string | null> {
  const failedIds = (await queue.getRanges(['failed'], 0, -1)).filter(mine);
  if (failedIds.length === 0) return null;
  const failed: { indices: number[]; reason: string; attempts: number }[] = [];
  let missing = 0;
  for (const jobId of failedIds) {
    const job = await queue.getJob(jobId);
    if (!job) continue;
    const indices = ((job.data as JobPayload).indices ?? []).filter((i) => !done.has(i));
    if (indices.length === 0) continue;
    missing += indices.length;
    failed.push({
      indices,
      reason: (job.failedReason ?? 'unknown').split('\n')[0],
      attempts: job.attemptsMade,
    });
  }
  if (missing === 0 || done.size + missing < total) return null;
  const first = failed[0];
  const more = failed.length > 1 ? ` (and ${failed.length - 1} more failed jobs)` : '';
  return (
    `${missing} input(s) failed on the workers: input ${describeIndices(first.indices)} after ${first.attempts} attempt(s): ` +
    `${first.reason}${more}; ${where}; fix the cause and rerun the same command to retry them`
  );
}
