/**
 * The certification pool: `workers` worker threads (piscina), one task at a time each, and a bounded
 * queue in front of them. A request that finds `workers + maxQueue` tasks already admitted is refused
 * at once (QueueFullError, answered 503 with Retry-After) instead of waiting without bound.
 */
import { Piscina } from 'piscina';
import type { WorkerResult, WorkerTask } from './worker.mjs';

export class QueueFullError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

export interface PoolOptions {
  workers: number;
  maxQueue: number;
}

// Under tsx (tests, development) the worker is the TypeScript source, in the package the compiled
// file. It is an .mts module so that piscina imports it as ESM rather than through require().
const workerFile = new URL(import.meta.url.endsWith('.ts') ? './worker.mts' : './worker.mjs', import.meta.url)
  .href;

export class CertifyPool {
  private readonly piscina: Piscina<WorkerTask, WorkerResult>;
  private admitted = 0;
  /** running mean of task seconds, for Retry-After */
  private meanSeconds = 1;
  private closed = false;

  constructor(readonly options: PoolOptions) {
    if (!(Number.isInteger(options.workers) && options.workers >= 1)) {
      throw new RangeError(`workers must be a positive integer, got ${options.workers}`);
    }
    if (!(Number.isInteger(options.maxQueue) && options.maxQueue >= 0)) {
      throw new RangeError(`maxQueue must be an integer >= 0, got ${options.maxQueue}`);
    }
    this.piscina = new Piscina({
      filename: workerFile,
      minThreads: options.workers,
      maxThreads: options.workers,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1,
      // workers yield the CPU to the HTTP thread (Linux: per-thread nice), which stays responsive
      niceIncrement: 10,
    });
  }

  /** tasks being computed */
  get running(): number {
    return Math.min(this.admitted, this.options.workers);
  }

  /** tasks waiting for a worker */
  get queued(): number {
    return Math.max(0, this.admitted - this.options.workers);
  }

  async run(task: WorkerTask): Promise<WorkerResult> {
    const { workers, maxQueue } = this.options;
    if (this.closed) throw new QueueFullError('the server is shutting down', 5);
    if (this.admitted >= workers + maxQueue) {
      const waves = Math.ceil((this.admitted - workers + 1) / workers);
      throw new QueueFullError(
        `all ${workers} workers are busy and ${this.queued} requests are waiting (the limit); retry later`,
        Math.max(1, Math.ceil(waves * this.meanSeconds)),
      );
    }
    this.admitted++;
    const t0 = performance.now();
    try {
      return await this.piscina.run(task);
    } finally {
      this.admitted--;
      this.meanSeconds = 0.8 * this.meanSeconds + 0.2 * ((performance.now() - t0) / 1000);
    }
  }

  /** Refuses new tasks, lets the admitted ones finish, then stops the threads. */
  async close(): Promise<void> {
    this.closed = true;
    await this.piscina.close();
  }
}
