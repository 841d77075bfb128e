/**
 * `smooth-reduce worker --queue <url>` (run jobs on this machine until SIGTERM) and
 * `smooth-reduce queue status|cancel|clean --queue <url> [run-id]`.
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { Device } from '../models/onnx-classifier.js';
import { cancelRun, cleanRuns, formatStatus, queueStatus } from '../queue/admin.js';
import { parseRedisUrl } from '../queue/connection.js';
import { startWorker } from '../queue/worker.js';
import type { OutputStreams } from './streams.js';

const positive = (v: string) => {
  const x = Number(v);
  if (!(x > 0) || !Number.isFinite(x)) throw new InvalidArgumentError('expected a number > 0');
  return x;
};
const count = (v: string) => {
  const x = Number(v);
  if (!Number.isInteger(x) || x < 1) throw new InvalidArgumentError('expected a whole number >= 1');
  return x;
};

interface WorkerFlags {
  queue: string;
  device: Device;
  threads?: number;
  models: string[];
  name?: string;
  lock: number;
  quiet: boolean;
}

export function register(program: Command, streams: OutputStreams): void {
  program
    .command('worker')
    .description(
      'run the jobs of certify/predict --queue runs on this machine until stopped (SIGTERM or Ctrl-C: ' +
        'finish the current job and stop; twice: return it to the queue at once)',
    )
    .requiredOption('--queue <redis-url>', 'the Redis server holding the queue, e.g. redis://host:6379')
    .option(
      '--device <d>',
      'cpu | cuda',
      (v) => {
        if (v !== 'cpu' && v !== 'cuda') throw new InvalidArgumentError('expected one of cpu, cuda');
        return v;
      },
      'cpu',
    )
    .option('--threads <t>', 'ONNX Runtime intra-op threads (default: all cores)', count)
    .option(
      '--models <folder>',
      "also look for a run's model by its sha256 among the .onnx files here (repeatable)",
      (v: string, previous: string[]) => [...previous, v],
      [],
    )
    .option('--name <name>', "this worker's name in manifests and status (default: host:pid)")
    .option(
      '--lock <seconds>',
      'a job whose worker stops answering for this long goes back to the queue',
      positive,
      30,
    )
    .option('--quiet', 'print nothing but errors', false)
    .action(async (flags: WorkerFlags) => {
      parseRedisUrl(flags.queue);
      const log = (line: string) => {
        if (!flags.quiet) streams.stderr.write(`smooth-reduce: ${line}\n`);
      };
      const worker = await startWorker({
        url: flags.queue,
        device: flags.device,
        threads: flags.threads,
        models: flags.models,
        name: flags.name,
        lockSeconds: flags.lock,
        log,
      });
      await new Promise<void>((resolve) => {
        let closing = false;
        const stop = (signal: NodeJS.Signals) => {
          if (closing) {
            log(`worker ${worker.name}: ${signal} again: returning the current job to the queue`);
            void worker.close(true).then(resolve);
            return;
          }
          closing = true;
          log(`worker ${worker.name}: ${signal}: finishing the current job, then stopping`);
          void worker.close().then(resolve);
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
      });
      process.removeAllListeners('SIGTERM');
      process.removeAllListeners('SIGINT');
    });

  const queue = program
    .command('queue')
    .description('inspect and manage the runs on a Redis queue (status, cancel, clean)');
  const url = (cmd: Command) =>
    cmd.requiredOption('--queue <redis-url>', 'the Redis server holding the queue, e.g. redis://host:6379');
  url(queue.command('status').description('runs, their progress and the connected workers'))
    .argument('[run-id]', 'only this run')
    .action(async (id: string | undefined, flags: { queue: string }) => {
      streams.stdout.write(formatStatus(await queueStatus(flags.queue, id), flags.queue));
    });
  url(queue.command('cancel').description('stop a run: remove its queued jobs; its collector stops'))
    .argument('<run-id>', 'the run (queue status lists them)')
    .action(async (id: string, flags: { queue: string }) => {
      streams.stdout.write(`${await cancelRun(flags.queue, id)}\n`);
    });
  url(
    queue
      .command('clean')
      .description('remove finished or cancelled runs (their jobs, results and record) from Redis'),
  )
    .argument('[run-id]', 'only this run (default: every finished or cancelled run)')
    .action(async (id: string | undefined, flags: { queue: string }) => {
      streams.stdout.write(await cleanRuns(flags.queue, id));
    });
}
