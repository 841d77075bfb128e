/**
 * `smooth-reduce queue status|cancel|clean`: what the runs on a Redis queue are doing, stopping one,
 * and removing finished or cancelled runs (their jobs, results and record).
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { UsageError } from '../core/errors.js';
import { connectRedis, redactRedisUrl } from './connection.js';
import { PREFIX, QUEUE_NAME, type RunStatus, keys } from './protocol.js';

export interface RunInfo {
  id: string;
  label: string;
  status: RunStatus;
  total: number;
  /** results received (finished runs: total) */
  done: number;
  queued: number;
  active: number;
  failed: number;
  collector: string;
  created: string;
  updated: string;
}

export interface QueueInfo {
  runs: RunInfo[];
  /** worker names connected to the queue */
  workers: string[];
}

async function withQueue<T>(url: string, f: (redis: Redis, queue: Queue) => Promise<T>): Promise<T> {
  const redis = await connectRedis(url);
  const queue = new Queue(QUEUE_NAME, { connection: redis, prefix: PREFIX });
  try {
    return await f(redis, queue);
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

/** The run ids to act on: all, or the one named (a one-line error when it does not exist). */
async function runIds(redis: Redis, url: string, id?: string): Promise<string[]> {
  if (id === undefined) return redis.zrange(keys.runs, 0, -1);
  if ((await redis.exists(keys.run(id))) === 0)
    throw new UsageError(
      `no run ${id} on ${redactRedisUrl(url)}; "smooth-reduce queue status" lists the runs`,
    );
  return [id];
}

async function jobIdsOfRun(
  queue: Queue,
  id: string,
  types: Parameters<Queue['getRanges']>[0],
): Promise<string[]> {
  return [...new Set(await queue.getRanges(types, 0, -1))].filter((j) => j.startsWith(`${id}-`));
}

async function runInfo(redis: Redis, queue: Queue, id: string): Promise<RunInfo> {
  const r = await redis.hgetall(keys.run(id));
  const total = Number(r.total ?? 0);
  const status = (r.status ?? 'running') as RunStatus;
  const done = status === 'finished' ? total : Math.min(total, await redis.xlen(keys.results(id)));
  return {
    id,
    label: r.label ?? '',
    status,
    total,
    done,
    queued: (await jobIdsOfRun(queue, id, ['waiting', 'prioritized', 'delayed'])).length,
    active: (await jobIdsOfRun(queue, id, ['active'])).length,
    failed: (await jobIdsOfRun(queue, id, ['failed'])).length,
    collector: r.collector ?? '',
    created: r.created ?? '',
    updated: r.updated ?? '',
  };
}

export async function queueStatus(url: string, id?: string): Promise<QueueInfo> {
  return withQueue(url, async (redis, queue) => {
    const runs: RunInfo[] = [];
    for (const r of await runIds(redis, url, id)) runs.push(await runInfo(redis, queue, r));
    const workers = (await queue.getWorkers())
      .map((w) => w.rawname ?? w.name ?? '')
      .map((n) => (n.includes(':w:') ? n.slice(n.indexOf(':w:') + 3) : n))
      .sort();
    return { runs, workers };
  });
}

/** Human-readable status, one block per run. */
export function formatStatus(info: QueueInfo, url: string): string {
  const lines: string[] = [];
  if (info.runs.length === 0) lines.push(`no runs on ${redactRedisUrl(url)}`);
  for (const r of info.runs) {
    lines.push(
      `run ${r.id}  ${r.status}  ${r.done}/${r.total} done  ${r.queued} queued  ${r.active} running  ${r.failed} failed`,
      `  ${r.label}`,
      `  collector ${r.collector}; created ${r.created}, updated ${r.updated}`,
    );
  }
  lines.push(
    `${info.workers.length} worker(s) connected${info.workers.length ? `: ${info.workers.join(', ')}` : ''}`,
  );
  return lines.join('\n') + '\n';
}

/** Removes the run's jobs that no worker holds; returns how many. */
async function removeJobs(
  queue: Queue,
  id: string,
  types: Parameters<Queue['getRanges']>[0],
): Promise<number> {
  let removed = 0;
  for (const jobId of await jobIdsOfRun(queue, id, types)) removed += await queue.remove(jobId);
  return removed;
}

/** Marks the run cancelled (its collector and workers stop) and removes its queued and failed jobs. */
export async function cancelRun(url: string, id: string): Promise<string> {
  return withQueue(url, async (redis, queue) => {
    await runIds(redis, url, id);
    const status = await redis.hget(keys.run(id), 'status');
    if (status === 'finished') throw new UsageError(`run ${id} is finished; nothing to cancel`);
    await redis.hset(keys.run(id), { status: 'cancelled', updated: new Date().toISOString() });
    const removed = await removeJobs(queue, id, ['waiting', 'prioritized', 'delayed', 'failed']);
    const active = (await jobIdsOfRun(queue, id, ['active'])).length;
    return `cancelled run ${id}: removed ${removed} queued job(s); ${active} running job(s) stop after their current input`;
  });
}

/**
 * Removes a finished, failed or cancelled run (all of them without an id): jobs, results stream, record.
 * A running run is refused: cancel it first.
 */
export async function cleanRuns(url: string, id?: string): Promise<string> {
  return withQueue(url, async (redis, queue) => {
    const lines: string[] = [];
    for (const r of await runIds(redis, url, id)) {
      const status = await redis.hget(keys.run(r), 'status');
      if (status === 'running') {
        if (id !== undefined)
          throw new UsageError(`run ${r} is running; cancel it first ("smooth-reduce queue cancel ${r}")`);
        continue;
      }
      const removed = await removeJobs(queue, r, [
        'waiting',
        'prioritized',
        'delayed',
        'failed',
        'completed',
      ]);
      await redis.multi().del(keys.results(r)).del(keys.run(r)).zrem(keys.runs, r).exec();
      lines.push(`removed run ${r} (${status}, ${removed} job(s))`);
    }
    if (lines.length === 0) lines.push('no finished, failed or cancelled runs to remove');
    return lines.join('\n') + '\n';
  });
}
