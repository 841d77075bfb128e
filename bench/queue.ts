/**
 * What spreading a run over a Redis queue costs (docs/performance.md, "Many machines"):
 *
 * 1. the same run (fmnist CNN, RS, n = 10,000 by default) three ways on this machine: the local
 *    CLI with 2 threads, `certify --queue` with 1 worker x 2 threads, and with 2 workers x 1
 *    thread; wall time of the run from its manifest (`started` -> `finished`, so process start-up
 *    is left out), the queue's overhead per input and the Redis traffic (INFO: commands, bytes);
 * 2. a load test: a real `certify --queue` collector fed by many light fake workers (BullMQ Workers
 *    that post a log line instead of certifying), which measures Redis CPU time, commands and bytes
 *    per input at the highest rate this machine produces, and from them how many real workers one
 *    Redis can feed.
 *
 *   node --import tsx bench/queue.ts [--inputs 10] [--n 10000] [--fake-inputs 1000] [--fake-workers 8]
 *
 * Writes bench/results/queue.json and prints a summary. Needs redis-server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { readManifest } from '../src/io/manifest.js';
import { certifyFields } from '../src/io/tsv-log.js';
import { PREFIX, QUEUE_NAME, type JobPayload, keys } from '../src/queue/protocol.js';
import { RedisServer, redisMissing } from '../test/helpers/redis.js';
import { ROOT } from './common.js';

const { values: flags } = parseArgs({
  options: {
    inputs: { type: 'string', default: '10' },
    n: { type: 'string', default: '10000' },
    'fake-inputs': { type: 'string', default: '1000' },
    'fake-workers': { type: 'string', default: '8' },
    model: { type: 'string', default: join(ROOT, 'models', 'fmnist-cnn-s025') },
    data: { type: 'string', default: join(ROOT, 'data', 'fashion-mnist-sample') },
    out: { type: 'string', default: join(ROOT, 'bench', 'results', 'queue.json') },
  },
});
if (redisMissing) {
  console.error(`bench/queue.ts: ${redisMissing}`);
  process.exit(2);
}
const INPUTS = Number(flags.inputs);
const N = Number(flags.n);
const ENTRY = join(ROOT, 'src', 'cli', 'main.ts');
const tmp = mkdtempSync(join(tmpdir(), 'sr-bench-queue-'));
const server = await RedisServer.start();
const admin = new Redis(server.url);

function cli(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

function exit(child: ChildProcess): Promise<string> {
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (err += s));
  return new Promise((resolve, reject) =>
    child.on('close', (code, signal) =>
      code === 0 || signal === 'SIGTERM' ? resolve(err) : reject(new Error(`exit ${code ?? signal}: ${err}`)),
    ),
  );
}

/** Starts `smooth-reduce worker` and resolves once it waits for jobs. */
async function worker(
  threads: number,
  name: string,
): Promise<{ child: ChildProcess; done: Promise<string> }> {
  const child = cli(['worker', '--queue', server.url, '--threads', String(threads), '--name', name]);
  let err = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr?.setEncoding('utf8').on('data', (s: string) => {
      err += s;
      if (err.includes('waiting for jobs')) resolve();
    });
    child.on('close', (code) => reject(new Error(`worker exited ${code}: ${err}`)));
  });
  return { child, done: exit(child) };
}

interface RedisCounters {
  commands: number;
  bytesIn: number;
  bytesOut: number;
  cpuSeconds: number;
}

async function counters(): Promise<RedisCounters> {
  const info = await admin.info();
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return {
    commands: field('total_commands_processed'),
    bytesIn: field('total_net_input_bytes'),
    bytesOut: field('total_net_output_bytes'),
    cpuSeconds: field('used_cpu_user') + field('used_cpu_sys'),
  };
}

const diff = (a: RedisCounters, b: RedisCounters): RedisCounters => ({
  commands: b.commands - a.commands,
  bytesIn: b.bytesIn - a.bytesIn,
  bytesOut: b.bytesOut - a.bytesOut,
  cpuSeconds: b.cpuSeconds - a.cpuSeconds,
});

const runArgs = (out: string, inputs: number, n: number) => [
  'certify',
  '--model',
  flags.model as string,
  '--data',
  flags.data as string,
  '--max',
  String(inputs),
  '--n',
  String(n),
  '--quiet',
  '--out',
  out,
];

interface Measured {
  name: string;
  inputs: number;
  wallSeconds: number;
  /** sum of the log's time column: certification time spent on the inputs */
  certifySeconds: number;
  inputsPerSecond: number;
  redis?: RedisCounters;
  sameLinesAsLocal?: boolean;
}

function measure(name: string, out: string, redis?: RedisCounters): Measured {
  const m = readManifest(`${out}.manifest.json`);
  const wallSeconds = (Date.parse(m.finished ?? '') - Date.parse(m.started)) / 1000;
  const rows = readFileSync(out, 'utf8').trim().split('\n').slice(1);
  const certifySeconds = rows.reduce((s, r) => s + Number(r.split('\t')[5]), 0);
  return {
    name,
    inputs: rows.length,
    wallSeconds,
    certifySeconds,
    inputsPerSecond: rows.length / wallSeconds,
    redis,
  };
}

const withoutTime = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .map((l) =>
      l
        .split('\t')
        .filter((_, k) => k !== 5)
        .join('\t'),
    )
    .join('\n');

async function queued(name: string, workers: { threads: number; count: number }): Promise<Measured> {
  const started = [];
  for (let k = 0; k < workers.count; k++) started.push(await worker(workers.threads, `${name}-${k}`));
  // a one-input run first: the workers load the model (once per worker, not per input), as the
  // local CLI does before its run starts
  await exit(cli([...runArgs(join(tmp, `${name}-warm.tsv`), 1, 100), '--seed', '99', '--queue', server.url]));
  const out = join(tmp, `${name}.tsv`);
  const before = await counters();
  await exit(cli([...runArgs(out, INPUTS, N), '--queue', server.url]));
  const after = await counters();
  for (const w of started) w.child.kill('SIGTERM');
  await Promise.all(started.map((w) => w.done));
  return {
    ...measure(name, out, diff(before, after)),
    sameLinesAsLocal: withoutTime(out) === withoutTime(local),
  };
}

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  loadBefore: loadavg()
    .map((x) => x.toFixed(2))
    .join(' '),
};
console.error(`local: ${INPUTS} inputs, n = ${N}`);
const local = join(tmp, 'local.tsv');
await exit(cli([...runArgs(local, INPUTS, N), '--threads', '2']));
const results: Measured[] = [measure('local CLI, 2 threads', local)];
console.error('queue: 1 worker x 2 threads');
results.push({ ...(await queued('1x2', { threads: 2, count: 1 })), name: 'queue, 1 worker x 2 threads' });
console.error('queue: 2 workers x 1 thread');
results.push({ ...(await queued('2x1', { threads: 1, count: 2 })), name: 'queue, 2 workers x 1 thread' });

// load test: fake workers post a line per input at once; the collector is the real one
const FAKE = Number(flags['fake-inputs']);
const fakeWorkers: Worker[] = [];
const fakeConnections: Redis[] = [];
const line = (idx: number) =>
  certifyFields({
    idx,
    label: 3,
    prediction: 3,
    radius: 0.6754581,
    seconds: 2.345,
    pALower: 0.99655231,
    radiusSmoothing: 0.6754581,
    nA: 9993,
    samples: 10000,
  }).join('\t');
console.error(`load test: ${FAKE} inputs, ${flags['fake-workers']} fake workers`);
for (let k = 0; k < Number(flags['fake-workers']); k++) {
  const connection = new Redis(server.url, { maxRetriesPerRequest: null });
  fakeConnections.push(connection);
  const w = new Worker(
    QUEUE_NAME,
    async (job: Job) => {
      const p = job.data as JobPayload;
      // what a real worker does per job besides certifying: status check, one entry per input, progress
      for (const idx of p.indices) {
        await connection.hget(keys.run(p.run), 'status');
        await connection.xadd(keys.results(p.run), '*', 'i', String(idx), 'w', `fake-${k}`, 'l', line(idx));
        await job.updateProgress(1);
      }
      return { inputs: p.indices.length };
    },
    { connection, prefix: PREFIX, name: `fake-${k}`, concurrency: 1 },
  );
  fakeWorkers.push(w);
}
await Promise.all(fakeWorkers.map((w) => w.waitUntilReady()));
const fakeOut = join(tmp, 'fake.tsv');
const t0 = await counters();
await exit(cli([...runArgs(fakeOut, FAKE, 100), '--queue', server.url]));
const fakeAfter = await counters();
await Promise.all(fakeWorkers.map((w) => w.close()));
fakeConnections.forEach((c) => c.disconnect());
const load = measure(`load test: ${fakeWorkers.length} fake workers`, fakeOut, diff(t0, fakeAfter));

const perInput = (m: Measured) =>
  m.redis && {
    commands: m.redis.commands / m.inputs,
    bytes: (m.redis.bytesIn + m.redis.bytesOut) / m.inputs,
    redisCpuMs: (m.redis.cpuSeconds * 1000) / m.inputs,
  };
const localWall = results[0].wallSeconds / results[0].inputs;
const summary = {
  date: new Date().toISOString(),
  machine: {
    ...machine,
    loadAfter: loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
  },
  settings: { model: flags.model, data: flags.data, inputs: INPUTS, n: N, method: 'rs', batch: 400 },
  runs: results.map((m) => ({
    ...m,
    secondsPerInput: m.wallSeconds / m.inputs,
    /** against the local run: wall time per input (moves with the machine's load) */
    ratioToLocal: m.wallSeconds / m.inputs / localWall,
    /**
     * within the run itself, robust to load: wall time not spent certifying, per input (one
     * worker runs the inputs one after another, so wall = certify time + everything else)
     */
    gapMsPerInput: ((m.wallSeconds - m.certifySeconds) / m.inputs) * 1000,
    gapRatio: (m.wallSeconds - m.certifySeconds) / m.certifySeconds,
    perInput: perInput(m),
  })),
  load: {
    ...load,
    perInput: perInput(load),
    /** inputs per second one Redis core could serve at this CPU cost per input */
    redisCapacityInputsPerSecond: load.redis ? load.inputs / load.redis.cpuSeconds : null,
  },
};
writeFileSync(flags.out as string, JSON.stringify(summary, null, 2) + '\n');
console.log(JSON.stringify(summary, null, 2));
admin.disconnect();
await server.dispose();
rmSync(tmp, { recursive: true, force: true });
