/**
 * Load test of `smooth-reduce serve` (autocannon, loopback only, bounded in requests and time).
 *
 *   npm run load                     # the two scenarios below, about two minutes on 2 cores
 *   npm run load -- --requests 100   # fewer requests per scenario
 *
 * Starts the server in a child process (one worker per core unless --workers), then fires
 * POST /v1/certify (Fashion-MNIST test image 0, JSON pixels, RS, n0 = 100, n = 1,000) at it:
 *  1. within capacity: 2 concurrent clients per worker, the default queue (4 per worker);
 *  2. overload: 32 concurrent clients against a queue of 2: the server must refuse the excess
 *     with 503 + Retry-After at once rather than queue without bound.
 * Reports throughput, latency p50 / p99 and every status code; fails (exit 1) on any answer other
 * than 200 or a deliberate 503, on connection errors or timeouts, or if the server dies.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { IdxDataset } from '../src/data/idx.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '200' },
    workers: { type: 'string', default: String(availableParallelism()) },
    'max-seconds': { type: 'string', default: '90' },
    n: { type: 'string', default: '1000' },
  },
});
const requests = Number(args.requests);
const workers = Number(args.workers);
const maxSeconds = Number(args['max-seconds']);

interface Scenario {
  name: string;
  connections: number;
  maxQueue: number;
}

const scenarios: Scenario[] = [
  { name: 'within capacity', connections: 2 * workers, maxQueue: 4 * workers },
  { name: 'overload', connections: 32, maxQueue: 2 },
];

function startServer(maxQueue: number): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'src', 'cli', 'main.ts'),
      'serve',
      '--model',
      join(ROOT, 'models', 'fmnist-cnn-s025'),
      '--port',
      '0',
      '--workers',
      String(workers),
      '--max-queue',
      String(maxQueue),
      '--no-page',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let text = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      text += s;
      const m = /serving on (http:\/\/\S+)/.exec(text);
      if (m) resolve({ child, address: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`the server exited (${code}): ${text}`)));
  });
}

async function run(s: Scenario, body: string) {
  const { child, address } = await startServer(s.maxQueue);
  let died = false;
  child.on('exit', () => (died = true));
  const headers = { 'content-type': 'application/json' };
  // warm-up: every worker loads the model once
  await Promise.all(
    Array.from({ length: workers }, () => fetch(`${address}/v1/certify`, { method: 'POST', headers, body })),
  );
  let stop: NodeJS.Timeout | undefined;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${address}/v1/certify`,
        method: 'POST',
        headers,
        body,
        connections: s.connections,
        amount: requests,
        timeout: 60,
      },
      (err, r) => (err ? reject(err) : resolve(r)),
    );
    stop = setTimeout(() => instance.stop(), maxSeconds * 1000);
  });
  clearTimeout(stop);
  const health = await fetch(`${address}/healthz`).then((r) => r.status);
  child.kill('SIGTERM');
  const exit = await new Promise<number | null>((resolve) =>
    child.exitCode !== null ? resolve(child.exitCode) : child.on('exit', resolve),
  );
  const codes = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([code, v]) => [code, (v as { count: number }).count]),
  );
  const ok = codes['200'] ?? 0;
  const refused = codes['503'] ?? 0;
  const answered = Object.values(codes).reduce((a, b) => a + b, 0);
  const unexpected = answered - ok - refused;
  return {
    scenario: s.name,
    connections: s.connections,
    workers,
    maxQueue: s.maxQueue,
    requests: answered,
    seconds: result.duration,
    ok,
    refused,
    unexpected,
    errors: result.errors,
    timeouts: result.timeouts,
    throughput: ok / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    healthAfter: health,
    exitCode: exit,
    crashed: died && exit !== 0,
  };
}

const x = await new IdxDataset(join(ROOT, 'data', 'fashion-mnist-sample', 't10k-images-idx3-ubyte.gz')).get(
  0,
);
const body = JSON.stringify({
  pixels: Array.from(x.pixels),
  method: 'rs',
  n0: 100,
  n: Number(args.n),
  seed: 0,
});
const rows = [];
for (const s of scenarios) {
  process.stderr.write(`load: ${s.name}: ${s.connections} clients, ${requests} requests...\n`);
  rows.push(await run(s, body));
}
console.log(
  '| scenario | clients | workers | queue | requests | 200 | 503 | other / errors / timeouts | certified/s | p50 ms | p99 ms |',
);
console.log('| :-- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |');
for (const r of rows) {
  console.log(
    `| ${r.scenario} | ${r.connections} | ${r.workers} | ${r.maxQueue} | ${r.requests} | ${r.ok} | ${r.refused} | ` +
      `${r.unexpected} / ${r.errors} / ${r.timeouts} | ${r.throughput.toFixed(2)} | ${r.p50} | ${r.p99} |`,
  );
}
console.log(JSON.stringify(rows));
const bad = rows.filter(
  (r) => r.unexpected > 0 || r.errors > 0 || r.timeouts > 0 || r.crashed || r.healthAfter !== 200,
);
if (bad.length > 0) {
  process.stderr.write(`load: FAILED: ${bad.map((r) => r.scenario).join(', ')}\n`);
  process.exitCode = 1;
}
