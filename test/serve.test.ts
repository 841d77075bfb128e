/**
 * The HTTP service (src/serve): answers equal the CLI's, every malformed request gets a clear 4xx
 * JSON error, the worker pool keeps /healthz fast while every worker is busy, a full queue answers
 * 503 with Retry-After, a client that goes away cancels its work, a slow request times out, and
 * SIGTERM lets the request in flight finish before exit 0.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { IdxDataset } from '../src/data/idx.js';
import { type Service, createService } from '../src/serve/app.js';
import { REPO, SAMPLE, cliInProcess, finished, spawnCli } from './helpers/cli.js';

const MODEL = join(REPO, 'models', 'fmnist-cnn-s025');
const tmp = mkdtempSync(join(tmpdir(), 'sr-serve-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Fashion-MNIST sample image `index` as a gray PNG. */
async function samplePng(index: number): Promise<Buffer> {
  const x = await new IdxDataset(join(SAMPLE, 't10k-images-idx3-ubyte.gz')).get(index);
  const bytes = Buffer.from(Array.from(x.pixels, (v) => Math.round(v * 255)));
  return sharp(bytes, { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toBuffer();
}

async function post(base: string, path: string, body: unknown, init: RequestInit = {}) {
  const r = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...init,
  });
  return { status: r.status, headers: r.headers, json: (await r.json()) as Record<string, unknown> };
}

describe('serve: API', () => {
  let service: Service;
  let base: string;
  let png: Buffer;
  before(async () => {
    service = await createService({
      models: [MODEL],
      workers: 2,
      maxQueue: 1,
      maxN: 20_000,
      maxN0: 1000,
      bodyLimit: 64 * 1024,
      maxImagePixels: 100_000,
      // small model calls: a cancelled request stops within one call
      batch: 20,
      webRoot: null,
    });
    base = await service.app.listen({ port: 0, host: '127.0.0.1' });
    png = await samplePng(3);
  });
  after(() => service.close());

  it('certifies an image as `smooth-reduce certify` does on that image (same seed and options)', async () => {
    const folder = join(tmp, 'images');
    mkdirSync(join(folder, 'dress'), { recursive: true });
    await sharp(png).toFile(join(folder, 'dress', 'x.png'));
    const out = join(tmp, 'cli.tsv');
    const options = ['--method', 'mean', '--n0', '50', '--n', '300', '--seed', '7', '--stride', '4'];
    const r = await cliInProcess([
      'certify',
      '--model',
      MODEL,
      '--data',
      folder,
      '--channels',
      '1',
      ...options,
      '--threads',
      '1',
      '--quiet',
      '--out',
      out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [header, line] = readFileSync(out, 'utf8').trim().split('\n');
    const row = Object.fromEntries(header.split('\t').map((k, i) => [k, line.split('\t')[i]]));
    const query = 'method=mean&n0=50&n=300&seed=7&stride=4&sigma=0.25';
    const viaBytes = await fetch(`${base}/v1/certify?${query}`, {
      method: 'POST',
      headers: { 'content-type': 'image/png' },
      body: png,
    });
    assert.equal(viaBytes.status, 200);
    const a = (await viaBytes.json()) as Record<string, number>;
    assert.equal(a.prediction, Number(row.predict));
    assert.equal(Number(a.radius.toPrecision(6)), Number(row.radius));
    assert.equal(Number(a.pALower.toPrecision(6)), Number(row.pA_lower));
    assert.equal(a.nA, Number(row.count_A));
    assert.equal(a.radiusSpace, 'input');
    // the same image as base64 and as pixels: the same answer
    const pixels = Array.from(
      await new IdxDataset(join(SAMPLE, 't10k-images-idx3-ubyte.gz')).get(3).then((x) => x.pixels),
    );
    const options2 = { method: 'mean', n0: 50, n: 300, seed: 7, stride: 4, sigma: 0.25 };
    const b = await post(base, '/v1/certify', { ...options2, image: png.toString('base64') });
    const c = await post(base, '/v1/certify', { ...options2, pixels });
    for (const other of [b.json, c.json]) {
      assert.deepEqual(
        { ...other, seconds: 0 },
        { ...a, seconds: 0 },
        'base64 and pixel requests answer as the PNG body does',
      );
    }
    const p = await post(base, '/v1/predict', { pixels, n: 200, seed: 1 });
    assert.equal(p.status, 200);
    assert.equal(typeof p.json.pValue, 'number');
  });

  it('answers every malformed request with a clear 4xx JSON error', async () => {
    const big = await sharp({ create: { width: 1000, height: 1000, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    const rgb32 = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#888' } })
      .png()
      .toBuffer();
    const raw = (body: Buffer | string, type: string, query = '') =>
      fetch(`${base}/v1/certify${query}`, { method: 'POST', headers: { 'content-type': type }, body });
    const cases: [string, Promise<Response>, number, string, RegExp][] = [
      ['bad image bytes', raw('not an image', 'image/png'), 400, 'bad_image', /neither PNG nor JPEG/],
      ['truncated PNG', raw(png.subarray(0, 60), 'image/png'), 400, 'bad_image', /image/],
      [
        'wrong size',
        raw(rgb32, 'image/png'),
        400,
        'wrong_size',
        /32x32 but model fmnist-cnn-s025 takes 28x28/,
      ],
      ['decompression bomb', raw(big, 'image/png'), 400, 'image_too_large', /1000x1000/],
      ['unknown model', raw(png, 'image/png', '?model=nope'), 404, 'unknown_model', /no model "nope"/],
      [
        'n over the cap',
        raw(png, 'image/png', '?n=20001'),
        400,
        'invalid_options',
        /^n must be at most 20000 on this server, got 20001/,
      ],
      [
        'n0 > n',
        raw(png, 'image/png', '?n0=500&n=100'),
        400,
        'invalid_options',
        /n0 \(500\) must not exceed n \(100\)/,
      ],
      ['sigma <= 0', raw(png, 'image/png', '?sigma=0'), 400, 'invalid_options', /^sigma must be > 0, got 0/],
      [
        'alpha out of range',
        raw(png, 'image/png', '?alpha=1'),
        400,
        'invalid_options',
        /^alpha must be in \(0, 1\)/,
      ],
      [
        'bad method',
        raw(png, 'image/png', '?method=median'),
        400,
        'invalid_options',
        /^method must be one of rs, max, mean/,
      ],
      ['unknown option', raw(png, 'image/png', '?sigmaa=1'), 400, 'invalid_options', /unknown option sigmaa/],
      ['body too large', raw(Buffer.alloc(70_000, 1), 'image/png'), 413, 'body_too_large', /too large/i],
      ['unsupported media type', raw('x=1', 'text/plain'), 415, 'unsupported_media_type', /./],
      ['bad JSON', raw('{"n": ', 'application/json'), 400, 'bad_json', /JSON/],
      [
        'no image in JSON',
        raw(JSON.stringify({ n: 10 }), 'application/json'),
        400,
        'invalid_options',
        /either as image \(base64 PNG\/JPEG\) or as pixels/,
      ],
      [
        'wrong pixel count',
        raw(JSON.stringify({ pixels: [0.5, 0.5] }), 'application/json'),
        400,
        'wrong_shape',
        /2 values but model fmnist-cnn-s025 takes 1x28x28 = 784/,
      ],
      [
        'pixels out of range',
        raw(JSON.stringify({ pixels: Array(784).fill(2) }), 'application/json'),
        400,
        'bad_pixels',
        /outside the pixel range \[0, 1\]/,
      ],
      [
        'resize over the cap',
        raw(png, 'image/png', '?method=mean&resize=200'),
        400,
        'invalid_options',
        /resize 200x200 is over this server's limit/,
      ],
      [
        'too many patches',
        raw(png, 'image/png', '?method=mean&resize=60&stride=1'),
        400,
        'invalid_options',
        /1089 patches per noisy sample is over this server's limit of 100/,
      ],
      [
        'patch larger than the resized image',
        raw(png, 'image/png', '?method=mean&resize=20'),
        400,
        'invalid_options',
        /larger than the resized image/,
      ],
    ];
    for (const [what, response, status, kind, message] of cases) {
      const r = await response;
      assert.equal(r.status, status, what);
      assert.match(r.headers.get('content-type') ?? '', /application\/json/, what);
      const body = (await r.json()) as { error: string; message: string };
      assert.equal(body.error, kind, `${what}: ${body.message}`);
      assert.match(body.message, message, what);
    }
    const unknownRoute = await fetch(`${base}/v2/certify`);
    assert.equal(unknownRoute.status, 404);
  });

  it('keeps /healthz fast while every worker is busy, refuses a full queue with 503, cancels abandoned work', async () => {
    // long requests: Smooth-Mean with 25 patches and n = 20,000 is 500,000 forward passes each
    const long = 'method=mean&stride=1&n0=100&n=20000';
    const clients = [0, 1, 2].map(() => new AbortController());
    const pending = clients.map((c) =>
      fetch(`${base}/v1/certify?${long}`, {
        method: 'POST',
        headers: { 'content-type': 'image/png' },
        body: png,
        signal: c.signal,
      }).catch((e: Error) => e),
    );
    const health = async () =>
      (await fetch(`${base}/healthz`)).json() as Promise<{ busy: number; queued: number }>;
    const deadline = Date.now() + 20_000;
    while ((await health()).queued < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const h = await health();
    assert.deepEqual([h.busy, h.queued], [2, 1], 'two workers busy, one request waiting');
    // two workers busy, one request waiting: the next is refused at once
    const refused = await fetch(`${base}/v1/certify`, {
      method: 'POST',
      headers: { 'content-type': 'image/png' },
      body: png,
    });
    assert.equal(refused.status, 503);
    assert.equal(((await refused.json()) as { error: string }).error, 'queue_full');
    assert.match(refused.headers.get('retry-after') ?? '', /^\d+$/);
    const times: number[] = [];
    for (let k = 0; k < 11; k++) {
      const t0 = performance.now();
      const r = await fetch(`${base}/healthz`);
      assert.equal(r.status, 200);
      await r.json();
      times.push(performance.now() - t0);
    }
    // the median: one scheduler hiccup of a crowded test machine is not the server's doing
    times.sort((a, b) => a - b);
    assert.ok(times[5] < 100, `/healthz took ${times[5].toFixed(1)} ms (median) while every worker was busy`);
    assert.ok(
      times[10] < 1000,
      `/healthz took ${times[10].toFixed(1)} ms at most while every worker was busy`,
    );
    for (const c of clients) c.abort();
    await Promise.all(pending);
    // the workers stop at their next chunk of samples and the queued task never starts
    const idle = Date.now() + 10_000;
    while ((await health()).busy > 0 && Date.now() < idle) await new Promise((r) => setTimeout(r, 50));
    assert.equal((await health()).busy, 0, 'abandoned requests stop');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /smooth_reduce_cancelled_total 3/);
    assert.match(metrics, /smooth_reduce_http_requests_total\{route="\/v1\/certify",status="503"\} 1/);
  });

  it('describes itself: /openapi.json from the validating schemas, /v1/models', async () => {
    const api = (await (await fetch(`${base}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<
        string,
        {
          post?: {
            requestBody: {
              content: Record<string, { schema: { properties: Record<string, { maximum?: number }> } }>;
            };
          };
        }
      >;
    };
    assert.equal(api.openapi, '3.1.0');
    const body = api.paths['/v1/certify'].post!.requestBody.content['application/json'].schema;
    assert.equal(body.properties.n.maximum, 20_000, 'the server cap is in the published schema');
    assert.ok(body.properties.pixels && body.properties.image && body.properties.method);
    // in a query string resize is text (N or HxW), in JSON {height, width}
    const query = (
      api.paths['/v1/certify'].post as unknown as {
        parameters: { name: string; schema: { type?: string } }[];
      }
    ).parameters;
    assert.equal(query.find((p) => p.name === 'resize')?.schema.type, 'string');
    assert.ok(body.properties.resize && !('pattern' in body.properties.resize));
    const models = (await (await fetch(`${base}/v1/models`)).json()) as {
      models: { id: string; classes: string[] }[];
    };
    assert.equal(models.models[0].id, 'fmnist-cnn-s025');
    assert.equal(models.models[0].classes.length, 10);
  });
});

describe('serve: limits and shutdown', () => {
  it('times a slow request out with 503', async () => {
    const service = await createService({ models: [MODEL], workers: 1, timeoutMs: 200, webRoot: null });
    try {
      const r = await service.app.inject({
        method: 'POST',
        url: '/v1/certify?method=mean&stride=1&n=20000',
        headers: { 'content-type': 'image/png' },
        payload: await samplePng(0),
      });
      assert.equal(r.statusCode, 503);
      assert.equal(r.json().error, 'timeout');
    } finally {
      await service.close();
    }
  });

  it('on SIGTERM finishes the request in flight, then exits 0', async () => {
    const child = spawnCli(['serve', '--model', MODEL, '--port', '0', '--workers', '1', '--no-page']);
    const done = finished(child);
    const address = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stderr!.on('data', (s: Buffer) => {
        text += s.toString();
        const m = /serving on (http:\/\/\S+)/.exec(text);
        if (m) resolve(m[1]);
      });
      child.on('close', () => reject(new Error(`the server exited: ${text}`)));
    });
    const request = fetch(`${address}/v1/certify?method=mean&n=500`, {
      method: 'POST',
      headers: { 'content-type': 'image/png' },
      body: await samplePng(1),
    });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const h = (await (await fetch(`${address}/healthz`)).json()) as { busy: number };
      if (h.busy > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGTERM');
    const r = await request;
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { prediction: number }).prediction, 2);
    const exit = await done;
    assert.equal(exit.code, 0, exit.stderr);
    assert.match(exit.stderr, /SIGTERM: finishing the requests in flight/);
  });
});
