/**
 * The HTTP service: certified predictions over HTTP (fastify) and the web page.
 *
 *   POST /v1/certify, /v1/predict   image as PNG/JPEG bytes (options in the query string) or JSON
 *   GET  /v1/models                 model and denoiser cards; /v1/models/:id/model.onnx and
 *                                   /v1/denoisers/:id/model.onnx for the page
 *   GET  /v1/samples                bundled sample images; /v1/samples/:set/:index.png
 *   GET  /healthz, /metrics, /openapi.json, and the page at /
 *
 * Certification runs in a pool of worker threads (pool.ts); this thread only parses, validates and
 * answers, so /healthz stays fast while every worker is busy. Requests are bounded (body size, image
 * size, n and n0, queue length, time) and every refusal is a JSON error with a 4xx/5xx status.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import sharp from 'sharp';
import { z } from 'zod';
import { OptionsError, parseOptions } from '../core/params.js';
import { ABSTAIN } from '../core/smooth.js';
import { formatShape, shapeSize } from '../core/shape.js';
import { decodeRgb, rgbToPlanar } from '../data/image-folder.js';
import type { SmoothingOptions } from '../options.js';
import { chooseSigma } from '../models/sigma.js';
import { packageRoot, packageVersion } from '../package-root.js';
import { Metrics } from './metrics.js';
import {
  type ServedDenoiser,
  type ServedModel,
  denoiserInfo,
  loadDenoisers,
  loadModels,
  modelInfo,
} from './models.js';
import { CertifyPool, QueueFullError } from './pool.js';
import { type Sample, loadSamples } from './samples.js';
import {
  type RequestLimits,
  type RequestOptions,
  certifyResponseSchema,
  errorSchema,
  fromQuery,
  jsonRequestSchema,
  optionsSchema,
  predictResponseSchema,
  smoothingOptions,
} from './schema.js';

export interface ServeConfig {
  /** model files or folders (each with its model card) */
  models: string[];
  /** denoiser folders (each with its denoiser card) a request may put in front of a model */
  denoisers?: string[];
  /** worker threads (default: one per core) */
  workers?: number;
  /** ONNX Runtime intra-op threads per worker (1) */
  threads?: number;
  /** requests waiting for a worker before new ones are refused with 503 (default 4 per worker) */
  maxQueue?: number;
  /** caps on n and n0 per request (100,000 and 10,000) */
  maxN?: number;
  maxN0?: number;
  /** per-request limit on certification time, ms (60,000) */
  timeoutMs?: number;
  /** largest request body, bytes (1 MiB) */
  bodyLimit?: number;
  /** largest image accepted, pixels (decoding stops at the header beyond it) (1,000,000) */
  maxImagePixels?: number;
  /** noisy samples per model call (200) */
  batch?: number;
  /** folder of the built web page; null: no page (default: dist/web of the package) */
  webRoot?: string | null;
  logger?: boolean;
}

export interface Service {
  app: FastifyInstance;
  pool: CertifyPool;
  /** stops accepting, finishes the requests in flight, stops the workers */
  close(): Promise<void>;
}

export const defaultWebRoot = join(packageRoot, 'dist', 'web');

/** An error answered as JSON `{ error, message }` with this status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly kind: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export async function createService(config: ServeConfig): Promise<Service> {
  const workers = config.workers ?? availableParallelism();
  const limits: RequestLimits = { maxN: config.maxN ?? 100_000, maxN0: config.maxN0 ?? 10_000 };
  const timeoutMs = config.timeoutMs ?? 60_000;
  const maxImagePixels = config.maxImagePixels ?? 1_000_000;
  const batch = config.batch ?? 200;
  const threads = config.threads ?? 1;
  const models = await loadModels(config.models);
  const denoisers = await loadDenoisers(config.denoisers ?? [], models);
  const samples = await loadSamples(models);
  const pool = new CertifyPool({ workers, maxQueue: config.maxQueue ?? 4 * workers });
  const metrics = new Metrics(pool);
  const queryOptions = optionsSchema(limits);
  const jsonBody = jsonRequestSchema(limits);

  const app = Fastify({
    logger: config.logger ?? false,
    bodyLimit: config.bodyLimit ?? 1024 * 1024,
    forceCloseConnections: 'idle',
  });
  for (const type of ['image/png', 'image/jpeg', 'application/octet-stream']) {
    app.addContentTypeParser(type, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  }

  app.setErrorHandler((error: unknown, _request, reply) => {
    if (error instanceof HttpError) {
      return reply
        .code(error.status)
        .headers(error.headers)
        .send({ error: error.kind, message: error.message });
    }
    const e = error as { statusCode?: number; code?: string; message?: string };
    const status = e.statusCode && e.statusCode >= 400 && e.statusCode < 600 ? e.statusCode : 500;
    if (status >= 500) {
      app.log.error(error);
      return reply.code(status).send({ error: 'internal', message: 'internal error' });
    }
    const kind = (
      {
        FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
        FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
        FST_ERR_CTP_EMPTY_JSON_BODY: 'bad_request',
        FST_ERR_CTP_INVALID_JSON_BODY: 'bad_json',
      } as Record<string, string>
    )[e.code ?? ''];
    // the rest of a refused body is not read: close the connection rather than leave it half-read
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') reply.header('connection', 'close');
    return reply.code(status).send({ error: kind ?? 'bad_request', message: e.message ?? 'bad request' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );
  app.addHook('onResponse', async (request, reply) => {
    metrics.observeResponse(
      request.routeOptions.url ?? 'unknown',
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
  });

  const model = (id: string | undefined): ServedModel => {
    const m = id === undefined ? models[0] : models.find((x) => x.id === id);
    if (!m) {
      throw new HttpError(
        404,
        'unknown_model',
        `no model "${id}"; the server has ${models.map((x) => x.id).join(', ')}`,
      );
    }
    return m;
  };
  const denoiser = (id: string | undefined): ServedDenoiser | null => {
    if (id === undefined) return null;
    const d = denoisers.find((x) => x.id === id);
    if (!d) {
      const have =
        denoisers.length > 0
          ? `the server has ${denoisers.map((x) => x.id).join(', ')}`
          : 'the server has none (serve --denoiser)';
      throw new HttpError(404, 'unknown_denoiser', `no denoiser "${id}"; ${have}`);
    }
    return d;
  };

  async function imagePixels(bytes: Buffer, m: ServedModel): Promise<Float32Array> {
    const isPng = bytes.subarray(0, 8).equals(PNG);
    const isJpeg = bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
    if (!isPng && !isJpeg) throw new HttpError(400, 'bad_image', 'the image is neither PNG nor JPEG');
    let size: { width?: number; height?: number };
    try {
      size = await sharp(bytes).metadata();
    } catch (e) {
      throw new HttpError(400, 'bad_image', `cannot read the image header (${firstLine(e)})`);
    }
    const { width = 0, height = 0 } = size;
    if (width * height > maxImagePixels) {
      throw new HttpError(
        400,
        'image_too_large',
        `the image is ${width}x${height}, over the server's limit of ${maxImagePixels} pixels`,
      );
    }
    if (width !== m.shape.width || height !== m.shape.height) {
      throw new HttpError(
        400,
        'wrong_size',
        `the image is ${width}x${height} but model ${m.id} takes ${m.shape.width}x${m.shape.height}; resize it first`,
      );
    }
    try {
      const rgb = await decodeRgb(bytes, maxImagePixels);
      return rgbToPlanar(rgb.data, rgb.width, m.shape);
    } catch (e) {
      throw new HttpError(400, 'bad_image', `cannot decode the image (${firstLine(e)})`);
    }
  }

  function checkPixels(pixels: number[], m: ServedModel): Float32Array {
    const size = shapeSize(m.shape);
    if (pixels.length !== size) {
      throw new HttpError(
        400,
        'wrong_shape',
        `"pixels" has ${pixels.length} values but model ${m.id} takes ${formatShape(m.shape)} = ${size} (channel-planar C x H x W)`,
      );
    }
    const [lo, hi] = m.card.input.pixelRange;
    const bad = pixels.findIndex((v) => !(v >= lo && v <= hi));
    if (bad >= 0) {
      throw new HttpError(
        400,
        'bad_pixels',
        `pixels[${bad}] = ${pixels[bad]} is outside the pixel range [${lo}, ${hi}]`,
      );
    }
    return Float32Array.from(pixels);
  }

  /** The request's options and pixels, validated. */
  async function parse(
    request: FastifyRequest,
  ): Promise<{ options: RequestOptions; m: ServedModel; pixels: Float32Array }> {
    if (Buffer.isBuffer(request.body)) {
      const options = validate(queryOptions, fromQuery(request.query as Record<string, unknown>));
      const m = model(options.model);
      return { options, m, pixels: await imagePixels(request.body, m) };
    }
    if (typeof request.body !== 'object' || request.body === null) {
      throw new HttpError(
        415,
        'unsupported_media_type',
        'send the image as image/png or image/jpeg bytes (options in the query string), or JSON',
      );
    }
    if (Object.keys(request.query as object).length > 0) {
      throw new HttpError(
        400,
        'bad_request',
        'with a JSON body, give the options in the body, not the query string',
      );
    }
    const { image, pixels, ...options } = validate(jsonBody, request.body);
    const m = model(options.model);
    return {
      options,
      m,
      pixels:
        image !== undefined ? await imagePixels(Buffer.from(image, 'base64'), m) : checkPixels(pixels!, m),
    };
  }

  async function smooth(command: 'certify' | 'predict', request: FastifyRequest, reply: FastifyReply) {
    const { options, m, pixels } = await parse(request);
    const d = denoiser(options.denoiser);
    const { sigma, warning: sigmaWarning } = chooseSigma(options.sigma, m.card, d?.card);
    let smoothing: SmoothingOptions;
    try {
      smoothing = smoothingOptions(options, sigma, batch);
    } catch (e) {
      if (e instanceof OptionsError) throw new HttpError(400, 'invalid_options', e.message);
      throw e;
    }
    checkGeometry(smoothing, m);
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    const stop = () => Atomics.store(cancel, 0, 1);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, timeoutMs);
    // the client went away before the answer: stop its work
    const onClose = () => {
      if (!reply.raw.writableFinished) stop();
    };
    reply.raw.on('close', onClose);
    let outcome;
    try {
      outcome = await pool.run({
        command,
        modelPath: m.path,
        denoiserPath: d?.path ?? null,
        threads,
        shape: m.shape,
        pixels,
        index: options.index,
        options: smoothing,
        cancel,
      });
    } catch (e) {
      if (e instanceof QueueFullError) {
        throw new HttpError(503, 'queue_full', e.message, { 'retry-after': String(e.retryAfterSeconds) });
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
    if (outcome.kind === 'usage') throw new HttpError(400, 'invalid_options', outcome.message);
    if (outcome.kind === 'cancelled') {
      if (timedOut) {
        throw new HttpError(
          503,
          'timeout',
          `certification took longer than the server's limit of ${timeoutMs / 1000} s; ask for fewer samples`,
          { 'retry-after': '1' },
        );
      }
      metrics.cancelled.inc();
      throw new HttpError(499, 'cancelled', 'the client closed the connection');
    }
    metrics.observeCertification(command, options.method, outcome.seconds);
    const common = {
      model: { id: m.id, sha256: m.sha256 },
      denoiser: d ? { id: d.id, sha256: d.sha256 } : null,
      className:
        outcome.result.prediction === ABSTAIN ? null : (m.card.classes[outcome.result.prediction] ?? null),
      method: options.method,
      sigma,
      warnings: sigmaWarning ? [sigmaWarning] : [],
      alpha: options.alpha,
      n: options.n,
      seed: options.seed,
      index: options.index,
      // to the microsecond (not 0.38487612999999965)
      seconds: Math.round(outcome.seconds * 1e6) / 1e6,
    };
    if (outcome.kind === 'certify') {
      const r = outcome.result;
      const body: z.output<typeof certifyResponseSchema> = {
        ...common,
        prediction: r.prediction,
        radius: r.radius,
        radiusSpace: 'input',
        radiusSmoothing: r.radiusSmoothing,
        smoothingSpace: outcome.smoothingSpace,
        noiseScale: r.noiseScale,
        pALower: r.pALower,
        cA: r.cA,
        nA: r.nA,
        n0: options.n0,
        samples: r.samples,
        counts: Array.from(r.counts),
      };
      return body;
    }
    const r = outcome.result;
    const body: z.output<typeof predictResponseSchema> = {
      ...common,
      prediction: r.prediction,
      pValue: r.pValue,
      counts: Array.from(r.counts),
    };
    return body;
  }

  app.post('/v1/certify', (request, reply) => smooth('certify', request, reply));
  app.post('/v1/predict', (request, reply) => smooth('predict', request, reply));
  app.get('/v1/models', async () => ({
    models: models.map(modelInfo),
    denoisers: denoisers.map(denoiserInfo),
  }));
  app.get<{ Params: { id: string } }>('/v1/models/:id/model.onnx', async (request, reply) => {
    const m = model(request.params.id);
    return reply.type('application/octet-stream').header('cache-control', 'no-cache').send(m.bytes);
  });
  app.get<{ Params: { id: string } }>('/v1/denoisers/:id/model.onnx', async (request, reply) => {
    const d = denoiser(request.params.id)!;
    return reply.type('application/octet-stream').header('cache-control', 'no-cache').send(d.bytes);
  });
  app.get('/v1/samples', async () => ({ samples: samples.map(({ png: _png, ...s }) => s) }));
  app.get<{ Params: { set: string; file: string } }>('/v1/samples/:set/:file', async (request, reply) => {
    const s = samples.find(
      (x: Sample) => x.url === `/v1/samples/${request.params.set}/${request.params.file}`,
    );
    if (!s) throw new HttpError(404, 'not_found', `no sample ${request.params.set}/${request.params.file}`);
    return reply.type('image/png').send(s.png);
  });
  app.get('/healthz', async () => ({
    status: 'ok',
    version: packageVersion,
    workers,
    busy: pool.running,
    queued: pool.queued,
  }));
  app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.text()));
  const openapi = openApiDocument(limits, models);
  app.get('/openapi.json', async () => openapi);

  const webRoot = config.webRoot === undefined ? defaultWebRoot : config.webRoot;
  if (webRoot && existsSync(join(webRoot, 'index.html'))) {
    // every answer carries the cross-origin isolation headers (onSend below): onnxruntime-web may
    // then use threads (SharedArrayBuffer)
    await app.register(fastifyStatic, { root: resolve(webRoot) });
  } else {
    app.get('/', async (_request, reply) =>
      reply
        .type('text/plain')
        .send('smooth-reduce API (the web page is not built: run npm run build); see /openapi.json\n'),
    );
  }
  // once closing, answers to the requests in flight close their connections: a kept-alive one would
  // hold the shutdown until its keep-alive timeout
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('cross-origin-embedder-policy', 'require-corp');
    reply.header('cross-origin-resource-policy', 'same-origin');
  });

  return {
    app,
    pool,
    async close() {
      const closed = app.close();
      // the admitted certifications finish and are answered; then no connection may hold the exit
      // (a client's kept-alive connection would, until its keep-alive timeout)
      while (pool.running + pool.queued > 0) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 100));
      app.server.closeAllConnections();
      await closed;
      await pool.close();
    },
  };
}

/** `value` checked against `schema`, or a 400 naming every bad option. */
function validate<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  try {
    return parseOptions(schema, value);
  } catch (e) {
    if (e instanceof OptionsError) throw new HttpError(400, 'invalid_options', e.message);
    throw e;
  }
}

/** Largest resized image, as a multiple of the model input, and most patches per noisy sample. */
const MAX_RESIZE_FACTOR = 4;
const MAX_PATCHES = 100;

/** Smooth-Reduce's geometry within the server's bounds (model inputs per noisy sample). */
function checkGeometry(o: SmoothingOptions, m: ServedModel): void {
  if (o.method === 'rs') return;
  const { height, width } =
    o.pad !== undefined
      ? { height: m.shape.height + 2 * o.pad, width: m.shape.width + 2 * o.pad }
      : (o.resize ?? { height: m.shape.height + 4, width: m.shape.width + 4 });
  if (height > MAX_RESIZE_FACTOR * m.shape.height || width > MAX_RESIZE_FACTOR * m.shape.width) {
    throw new HttpError(
      400,
      'invalid_options',
      `resize ${height}x${width} is over this server's limit of ${MAX_RESIZE_FACTOR}x the model input`,
    );
  }
  const along = (size: number, patch: number) =>
    size >= patch ? Math.floor((size - patch) / o.stride) + 1 : 0;
  const grid = along(height, m.shape.height) * along(width, m.shape.width);
  const patches = Math.min(o.maxPatches ?? grid, o.randomPatches ? (o.maxPatches ?? grid) : grid);
  if (patches > MAX_PATCHES) {
    throw new HttpError(
      400,
      'invalid_options',
      `${patches} patches per noisy sample is over this server's limit of ${MAX_PATCHES}; raise stride or set maxPatches`,
    );
  }
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

/** The OpenAPI 3.1 description, generated from the zod schemas that validate the requests. */
export function openApiDocument(limits: RequestLimits, models: ServedModel[]) {
  const json = (s: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(s, { io, unrepresentable: 'any' });
  const options = json(optionsSchema(limits), 'input') as { properties: Record<string, unknown> };
  const error = { content: { 'application/json': { schema: json(errorSchema, 'output') } } };
  const operation = (summary: string, response: z.ZodType) => ({
    summary,
    parameters: Object.entries(options.properties).map(([name, schema]) => ({
      name,
      in: 'query',
      required: false,
      description: 'with an image/png or image/jpeg body',
      // a query string gives the size as text (N or HxW); JSON bodies as {height, width}
      schema:
        name === 'resize' ? { type: 'string', pattern: '^\\d+(x\\d+)?$', examples: ['32', '36x36'] } : schema,
    })),
    requestBody: {
      required: true,
      content: {
        'application/json': { schema: json(jsonRequestSchema(limits), 'input') },
        'image/png': { schema: { type: 'string', format: 'binary' } },
        'image/jpeg': { schema: { type: 'string', format: 'binary' } },
      },
    },
    responses: {
      200: {
        description: 'the answer',
        content: { 'application/json': { schema: json(response, 'output') } },
      },
      400: { description: 'malformed request: bad image, wrong size, options out of range', ...error },
      404: { description: 'unknown model', ...error },
      413: { description: 'body too large', ...error },
      415: { description: 'unsupported media type', ...error },
      503: { description: 'queue full or timed out (see Retry-After)', ...error },
    },
  });
  return {
    openapi: '3.1.0',
    info: {
      title: 'smooth-reduce',
      version: packageVersion,
      description: `Certified L2 robustness with randomized smoothing and Smooth-Reduce. Models: ${models.map((m) => m.id).join(', ')}. Radii are in the input space.`,
    },
    paths: {
      '/v1/certify': {
        post: operation('CERTIFY: class and certified L2 radius (input space)', certifyResponseSchema),
      },
      '/v1/predict': { post: operation('PREDICT: class or abstain (binomial test)', predictResponseSchema) },
      '/v1/models': {
        get: { summary: 'the models and their cards', responses: { 200: { description: 'models' } } },
      },
      '/v1/samples': {
        get: { summary: 'bundled sample images', responses: { 200: { description: 'samples' } } },
      },
      '/healthz': { get: { summary: 'liveness', responses: { 200: { description: 'ok' } } } },
      '/metrics': {
        get: { summary: 'Prometheus metrics', responses: { 200: { description: 'text format' } } },
      },
    },
  };
}
