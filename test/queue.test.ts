/**
 * One run over many workers through a real Redis (redis-server on a free loopback port, in a temp
 * folder): the collected log equals a local run's log apart from `time`; a worker killed with
 * SIGKILL mid-job has its job retried by another; Redis restarted mid-run and a collector killed
 * and restarted still give every input exactly once; a job that keeps failing is reported; a video
 * run with a window companion and a broken clip writes the local run's logs and skipped list; bad
 * URLs, unreachable servers, unknown runs and mismatched models are one-line errors.
 * Skipped, with the reason, where redis-server is not installed (the video test: without ffmpeg).
 */
import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { IdxDataset } from '../src/data/idx.js';
import { readManifest } from '../src/io/manifest.js';
import { ModelCache } from '../src/queue/model-cache.js';
import { keys } from '../src/queue/protocol.js';
import { type RunningWorker, startWorker } from '../src/queue/worker.js';
import { SAMPLE, cliInProcess, finished, spawnCli, withoutTime, writeCentroidModel } from './helpers/cli.js';
import { writePng } from './fixtures/data/make.js';
import { RedisServer, freePort, redisMissing } from './helpers/redis.js';
import { VIDEO_MODEL, clipFolder, videoMissing } from './helpers/video.js';

const tmp = mkdtempSync(join(tmpdir(), 'sr-queue-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const model = join(tmp, 'centroid.onnx');
const TOTAL = 12;
/** ~0.1-0.3 s per input on a busy 2-core machine: long enough to kill a worker mid-job */
const certifyArgs = (out: string, ...extra: string[]) => [
  'certify',
  '--model',
  model,
  '--data',
  SAMPLE,
  '--max',
  String(TOTAL),
  '--n0',
  '20',
  '--n',
  '2000',
  '--batch',
  '200',
  '--quiet',
  ...extra,
  '--out',
  out,
];
const reference = join(tmp, 'local.tsv');

/** Unique lines per index, and the indices that appear more than once. */
function indexCounts(path: string): { indices: number[]; repeated: number[] } {
  const rows = readFileSync(path, 'utf8').trim().split('\n').slice(1);
  const seen = new Map<number, number>();
  for (const r of rows) seen.set(Number(r.split('\t')[0]), (seen.get(Number(r.split('\t')[0])) ?? 0) + 1);
  return {
    indices: [...seen.keys()].sort((a, b) => a - b),
    repeated: [...seen.entries()].filter(([, k]) => k > 1).map(([i]) => i),
  };
}

/** The indices of a log's lines, in file order. */
function fileOrder(path: string): number[] {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((r) => Number(r.split('\t')[0]));
}

function lineCount(path: string): number {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').length - 2 : 0;
}

async function until(what: string, ok: () => Promise<boolean> | boolean, seconds = 30): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('queue: one run over many workers', { skip: redisMissing ?? false }, () => {
  let server: RedisServer;
  let redis: Redis;
  const workers: RunningWorker[] = [];
  const workerLog: string[] = [];
  const inProcessWorker = async (name: string) => {
    const w = await startWorker({
      url: server.url,
      device: 'cpu',
      threads: 1,
      models: [],
      name,
      lockSeconds: 2,
      log: (line) => workerLog.push(line),
    });
    workers.push(w);
    return w;
  };
  const closeWorkers = async () => {
    for (const w of workers.splice(0)) await w.close();
  };
  // a failed test leaves no worker behind to take the next test's jobs
  afterEach(closeWorkers);
  /** the results stream of the one run that has one */
  const resultsKey = async () => (await redis.keys(keys.results('*')))[0];

  before(async () => {
    server = await RedisServer.start();
    redis = new Redis(server.url, { maxRetriesPerRequest: null });
    redis.on('error', () => {});
    await writeCentroidModel(model);
    const r = await cliInProcess(certifyArgs(reference, '--threads', '1'));
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await closeWorkers();
    redis?.disconnect();
    await server?.dispose();
  });

  it('a worker killed with SIGKILL mid-job: another takes its job over; the log is the local one', async () => {
    const out = join(tmp, 'killed.tsv');
    const collector = cliInProcess([...certifyArgs(out), '--queue', server.url, '--chunk', '3']);
    const doomed = spawnCli([
      'worker',
      '--queue',
      server.url,
      '--threads',
      '1',
      '--lock',
      '2',
      '--name',
      'doomed',
    ]);
    const doomedExit = finished(doomed);
    // right after the first input of a 3-input job: two more to go when the kill lands
    await until('the first result', async () => {
      const key = await resultsKey();
      return key !== undefined && (await redis.xlen(key)) % 3 === 1;
    });
    doomed.kill('SIGKILL');
    assert.equal((await doomedExit).signal, 'SIGKILL');
    await inProcessWorker('survivor');
    const r = await collector;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(withoutTime(out), withoutTime(reference));
    const ran = readManifest(`${out}.manifest.json`).queue?.workers ?? {};
    assert.ok(ran.doomed.inputs % 3 !== 0, `killed mid-job: ${JSON.stringify(ran)}`);
    assert.equal(ran.doomed.inputs + ran.survivor.inputs, TOTAL);
    // the survivor ran the job the doomed worker had started
    const started = Math.max(...ran.doomed.indices.split(', ').map((p) => Number(p.split('..').pop())));
    const jobStart = started - (started % 3);
    // (its last input may reach the collector before the survivor logs the job)
    await until(`the survivor's line for the job of input ${started}`, () =>
      workerLog.some(
        (l) => l.startsWith('worker survivor:') && l.includes(`input ${jobStart}..${jobStart + 2}:`),
      ),
    );
    await closeWorkers();
  });

  it('a worker stopped with SIGTERM mid-job finishes its job first', async () => {
    const out = join(tmp, 'sigterm.tsv');
    const collector = cliInProcess([...certifyArgs(out), '--queue', server.url, '--chunk', '3']);
    const polite = spawnCli([
      'worker',
      '--queue',
      server.url,
      '--threads',
      '1',
      '--lock',
      '2',
      '--name',
      'polite',
    ]);
    const politeExit = finished(polite);
    await until('the first result', async () => {
      const key = await resultsKey();
      return key !== undefined && (await redis.xlen(key)) % 3 === 1;
    });
    polite.kill('SIGTERM');
    const stopped = await politeExit;
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stderr, /worker polite: SIGTERM: finishing the current job, then stopping/);
    await inProcessWorker('finisher');
    const r = await collector;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(withoutTime(out), withoutTime(reference));
    const ran = readManifest(`${out}.manifest.json`).queue?.workers ?? {};
    assert.equal(ran.polite.inputs % 3, 0, `whole jobs only: ${JSON.stringify(ran)}`);
    assert.equal(ran.polite.inputs + ran.finisher.inputs, TOTAL);
    await closeWorkers();
  });

  it('companion runs (--also) travel with the run: each log is the local one, and resumes on its own', async () => {
    const mean9 = ['--method', 'mean', '--resize', '32', '--stride', '2'];
    const local = join(tmp, 'also-local.tsv');
    const localMax = join(tmp, 'also-local-max.tsv');
    const l = await cliInProcess([
      ...certifyArgs(local, ...mean9, '--threads', '1', '--also', `out=${localMax},method=max`),
    ]);
    assert.equal(l.code, 0, l.stderr);
    const out = join(tmp, 'also.tsv');
    const max = join(tmp, 'also-max.tsv');
    const queued = () =>
      cliInProcess([
        ...certifyArgs(out, ...mean9, '--also', `out=${max},method=max`),
        '--queue',
        server.url,
        '--chunk',
        '4',
      ]);
    await inProcessWorker('both');
    const r = await queued();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(withoutTime(out), withoutTime(local));
    assert.equal(withoutTime(max), withoutTime(localMax));
    const manifest = readManifest(`${max}.manifest.json`);
    assert.ok(manifest.finished, 'the companion is finished');
    assert.equal(manifest.execution.device, 'queue workers');
    assert.equal(manifest.queue?.workers.both.inputs, TOTAL);
    // the companion's log lost: only it gets the inputs again; the run's own log is left alone
    const own = readFileSync(out, 'utf8');
    rmSync(max);
    rmSync(`${max}.manifest.json`);
    const again = await queued();
    assert.equal(again.code, 0, again.stderr);
    assert.equal(readFileSync(out, 'utf8'), own);
    assert.equal(withoutTime(max), withoutTime(localMax));
    await closeWorkers();
  });

  it(
    'a video run over the queue (windows, a window companion, a broken clip): logs and skips as a local run',
    { skip: videoMissing },
    async () => {
      // one clip per class and a broken file (idx 2, after left's clip)
      const clips = join(tmp, 'clips');
      clipFolder(
        clips,
        ['down/v_down_00000.mp4', 'left/v_left_00005.avi', 'right/v_right_00006.mp4', 'up/v_up_00007.webm'],
        'left/v_left_broken.mp4',
      );
      const video = (out: string, max: string) => [
        'certify',
        '--model',
        VIDEO_MODEL,
        '--data',
        clips,
        '--sigma',
        '0.5',
        '--method',
        'mean',
        '--window-stride',
        '4',
        '--also',
        `out=${max},method=max,max-windows=3`,
        '--n0',
        '20',
        '--n',
        '100',
        '--batch',
        '100',
        '--quiet',
        '--out',
        out,
      ];
      const [local, localMax] = [join(tmp, 'video-local.tsv'), join(tmp, 'video-local-max.tsv')];
      const l = await cliInProcess([...video(local, localMax), '--threads', '1']);
      assert.equal(l.code, 0, l.stderr);
      const [out, max] = [join(tmp, 'video.tsv'), join(tmp, 'video-max.tsv')];
      await inProcessWorker('video');
      const r = await cliInProcess([...video(out, max), '--queue', server.url, '--chunk', '2']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^smooth-reduce: skipped input 2: .*v_left_broken\.mp4: cannot decode \(/m);
      assert.equal(withoutTime(out), withoutTime(local));
      assert.equal(withoutTime(max), withoutTime(localMax));
      for (const [q, l] of [
        [out, local],
        [max, localMax],
      ]) {
        const [queued, alone] = [readManifest(`${q}.manifest.json`), readManifest(`${l}.manifest.json`)];
        assert.deepEqual(
          queued.skipped,
          alone.skipped,
          `${q}: the broken clip is recorded as a local run does`,
        );
        assert.ok(queued.finished, `${q} is finished`);
        assert.equal(queued.lines, 4);
        assert.equal(
          queued.queue?.workers.video.inputs,
          5,
          'the worker is credited with the clip it could not read too',
        );
      }
      await closeWorkers();
    },
  );

  it('Redis restarted mid-run (append-only file on): the run completes, every input once', async () => {
    const out = join(tmp, 'restart.tsv');
    await inProcessWorker('steady');
    const collector = cliInProcess([...certifyArgs(out), '--queue', server.url]);
    await until('3 results', () => lineCount(out) >= 3);
    assert.ok(lineCount(out) < TOTAL, 'Redis goes down mid-run');
    await server.restart(300);
    const r = await collector;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(indexCounts(out), { indices: [...Array(TOTAL).keys()], repeated: [] });
    assert.equal(withoutTime(out), withoutTime(reference));
    await closeWorkers();
  });

  it('the collector killed and restarted: the run completes, no input twice', async () => {
    const out = join(tmp, 'collector.tsv');
    await inProcessWorker('busy');
    const first = spawnCli([...certifyArgs(out), '--queue', server.url]);
    const firstExit = finished(first);
    await until('4 lines in the log', () => lineCount(out) >= 4);
    first.kill('SIGKILL');
    assert.equal((await firstExit).signal, 'SIGKILL');
    const r = await finished(spawnCli([...certifyArgs(out), '--queue', server.url]));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(indexCounts(out), { indices: [...Array(TOTAL).keys()], repeated: [] });
    assert.equal(withoutTime(out), withoutTime(reference));
    assert.equal(readManifest(`${out}.manifest.json`).queue?.workers.busy.inputs, TOTAL);
    await closeWorkers();
  });

  it('a job that keeps failing (a corrupt image) is reported once its attempts are spent', async () => {
    const data = new IdxDataset(join(SAMPLE, 't10k-images-idx3-ubyte.gz'));
    const images = join(tmp, 'images');
    for (let k = 0; k < 6; k++) {
      const x = await data.get(k);
      await writePng(
        join(images, String(x.label), `${k}.png`),
        28,
        28,
        (i, j) => Math.round(x.pixels[j * 28 + i] * 255),
        1,
      );
    }
    const broken = join(images, '1', '5.png'); // index 2: class folders 1, 2, 6, 9 hold 2 3 5, 1, 4, 0
    const good = readFileSync(broken);
    // header and end marker intact (a truncated file is refused before the run starts), data garbled
    writeFileSync(
      broken,
      Buffer.concat([good.subarray(0, 41), Buffer.alloc(good.length - 53, 0x55), good.subarray(-12)]),
    );
    const out = join(tmp, 'images.tsv');
    const args = [
      ...certifyArgs(out),
      '--data',
      images,
      '--channels',
      '1',
      '--queue',
      server.url,
      '--attempts',
      '2',
    ];
    await inProcessWorker('patient');
    const r = await cliInProcess(args);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^smooth-reduce: 1 input\(s\) failed on the workers: input 2 after 2 attempt\(s\): .*5\.png.*rerun/,
    );
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    // 0 and 1 in the log; 3, 4 and 5 wait in the results stream: never a line out of order
    assert.equal(lineCount(out), 2);
    assert.match(r.stderr, /2 of 6 inputs are in .*; 3 more finished input\(s\) wait in the run's results/);
    // repaired: the rerun retries the failed job and completes, in index order
    writeFileSync(broken, good);
    const again = await cliInProcess(args);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(fileOrder(out), [0, 1, 2, 3, 4, 5]);
    await closeWorkers();
  });

  it("a worker refuses a model whose sha256 differs from the run's", async () => {
    const swapped = join(tmp, 'swapped.onnx');
    copyFileSync(model, swapped);
    const out = join(tmp, 'swapped.tsv');
    const collector = cliInProcess([
      ...certifyArgs(out, '--model', swapped),
      '--queue',
      server.url,
      '--attempts',
      '1',
    ]);
    await until(
      'queued jobs',
      async () => (await redis.zcard(keys.runs)) > 0 && (await redis.keys('*:wait')).length > 0,
    );
    await writeCentroidModel(swapped, 50);
    await inProcessWorker('careful');
    const r = await collector;
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^smooth-reduce: \d+ input\(s\) failed .*swapped\.onnx has sha256 [0-9a-f]{12}\.\.\., not the run's/,
    );
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    await closeWorkers();
  });

  it("a worker refuses a model whose card differs from the run's", async () => {
    const dir = join(tmp, 'carded');
    mkdirSync(dir, { recursive: true });
    copyFileSync(model, join(dir, 'model.onnx'));
    const card = (normalization: { mean: number[]; std: number[] } | null) =>
      JSON.stringify({
        format: 'smooth-reduce-model-card',
        version: 2,
        name: 'centroid',
        input: {
          layout: 'NCHW',
          shape: [1, 28, 28],
          pixelRange: [0, 1],
          channelOrder: 'gray',
          normalization,
        },
        classes: Array.from({ length: 10 }, (_, i) => String(i)),
      });
    writeFileSync(join(dir, 'model.json'), card(null));
    const out = join(tmp, 'carded.tsv');
    const before = await redis.zcard(keys.runs);
    const collector = cliInProcess([
      ...certifyArgs(out, '--model', dir, '--seed', '11'),
      '--queue',
      server.url,
      '--attempts',
      '1',
    ]);
    await until(
      'queued jobs',
      async () => (await redis.zcard(keys.runs)) > before && (await redis.keys('*:wait')).length > 0,
    );
    // the worker's copy of the card normalises: same .onnx, another f
    writeFileSync(join(dir, 'model.json'), card({ mean: [0.2], std: [0.5] }));
    await inProcessWorker('card-check');
    const r = await collector;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^smooth-reduce: \d+ input\(s\) failed .*model\.onnx: the model card differs/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.equal(lineCount(out), 0);
    await closeWorkers();
  });

  it('a run cancelled with later inputs finished, then rerun: the log is in index order, as a local run writes it', async () => {
    const out = join(tmp, 'cancel-order.tsv');
    // the first test ran this same configuration (the same run id): start from an empty Redis
    await redis.flushall();
    const before = new Set(await redis.zrange(keys.runs, 0, -1));
    const args = [...certifyArgs(out), '--queue', server.url];
    const collector = cliInProcess(args);
    let id = '';
    await until(
      'the run to be queued',
      async () => {
        id = (await redis.zrange(keys.runs, 0, -1)).find((r) => !before.has(r)) ?? '';
        return id !== '' && (await redis.keys('*:wait')).length > 0;
        // a loaded machine takes long to start the collector
      },
      120,
    );
    // inputs 4..7 finished (by some worker) before 0..3: their lines are the local run's
    const local = readFileSync(reference, 'utf8').trim().split('\n').slice(1);
    for (const line of local.slice(4, 8))
      await redis.xadd(keys.results(id), '*', 'i', line.split('\t')[0], 'w', 'early', 'l', line);
    await sleep(1500);
    const cancel = await cliInProcess(['queue', 'cancel', '--queue', server.url, id]);
    assert.equal(cancel.code, 0, cancel.stderr);
    const stopped = await collector;
    assert.equal(stopped.code, 1);
    assert.match(stopped.stderr, /was cancelled \(queue cancel\); 0 of 12 inputs are in .*; 4 more finished/);
    assert.deepEqual(fileOrder(out), [], 'no line is written before its predecessors');
    // the rerun (same command: same run) writes the waiting lines in their places
    await inProcessWorker('after-cancel');
    const again = await cliInProcess(args);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(fileOrder(out), [...Array(TOTAL).keys()]);
    assert.equal(withoutTime(out), withoutTime(reference));
    await closeWorkers();
  });

  it('queue status, cancel and clean; unknown runs and unreachable servers are one-line errors', async () => {
    const out = join(tmp, 'cancelled.tsv');
    const before = new Set(await redis.zrange(keys.runs, 0, -1));
    const collector = cliInProcess([...certifyArgs(out, '--seed', '7'), '--queue', server.url]);
    let id = '';
    await until(
      'the run to be queued',
      async () => {
        id = (await redis.zrange(keys.runs, 0, -1)).find((r) => !before.has(r)) ?? '';
        return id !== '' && (await redis.keys('*:wait')).length > 0;
        // a loaded machine takes long to start the collector
      },
      120,
    );
    const status = await cliInProcess(['queue', 'status', '--queue', server.url, id]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`run ${id}  running  0/${TOTAL} done  ${TOTAL} queued`));
    const cancel = await cliInProcess(['queue', 'cancel', '--queue', server.url, id]);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(cancel.stdout, new RegExp(`cancelled run ${id}: removed ${TOTAL} queued job`));
    const stopped = await collector;
    assert.equal(stopped.code, 1);
    assert.match(stopped.stderr, new RegExp(`^smooth-reduce: run ${id} was cancelled`));
    const clean = await cliInProcess(['queue', 'clean', '--queue', server.url]);
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(clean.stdout, new RegExp(`removed run ${id} \\(cancelled`));
    const empty = await cliInProcess(['queue', 'status', '--queue', server.url]);
    assert.match(empty.stdout, /^no runs on redis:\/\/127\.0\.0\.1:\d+\n0 worker\(s\) connected/);

    for (const sub of ['status', 'cancel', 'clean']) {
      const r = await cliInProcess(['queue', sub, '--queue', server.url, '0123456789abcdef']);
      assert.equal(r.code, 2, sub);
      assert.equal(
        r.stderr,
        `smooth-reduce: no run 0123456789abcdef on ${server.url}; "smooth-reduce queue status" lists the runs\n`,
      );
    }
    const closed = `redis://127.0.0.1:${await freePort()}`;
    const nowhere = join(tmp, 'nowhere.tsv');
    for (const args of [
      [...certifyArgs(nowhere), '--queue', closed],
      ['worker', '--queue', closed],
      ['queue', 'status', '--queue', closed],
    ]) {
      const r = await cliInProcess(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(
        r.stderr,
        new RegExp(`^smooth-reduce: cannot reach Redis at ${closed} \\(.*ECONNREFUSED.*\\)\n$`),
      );
    }
    assert.equal(existsSync(nowhere), false, 'no log for a run that never reached Redis');
    const bad = await cliInProcess([...certifyArgs(nowhere), '--queue', 'localhost:6379']);
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /^smooth-reduce: --queue must be a Redis URL such as redis:\/\/localhost:6379, got "localhost:6379"\n$/,
    );
  });
});

describe('queue: worker model cache', () => {
  it('finds a model by path or by content, and names what it cannot read', async () => {
    const dir = mkdtempSync(join(tmp, 'models-'));
    const file = await writeCentroidModel(join(dir, 'renamed.onnx'));
    const sha = (await import('node:crypto')).createHash('sha256').update(readFileSync(file)).digest('hex');
    const missing = join(tmp, 'gone.onnx');
    const bare = new ModelCache({ device: 'cpu', threads: 1, search: [] });
    await assert.rejects(
      bare.get({ path: missing, sha256: sha, externalData: [], cardSha256: null, card: null }),
      /cannot read model .*gone\.onnx \(ENOENT\); pass --models/,
    );
    const searching = new ModelCache({ device: 'cpu', threads: 1, search: [dir] });
    const found = await searching.get({
      path: missing,
      sha256: sha,
      externalData: [],
      cardSha256: null,
      card: null,
    });
    assert.equal(found.sha256, sha);
    assert.equal(found.path, file);
    await searching.dispose();
    await bare.dispose();
  });
});
