/**
 * `smooth-reduce serve`: the HTTP API and the web page (src/serve/app.ts). Runs until SIGTERM or
 * SIGINT, then stops accepting, lets the requests in flight finish and exits 0.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { UsageError } from '../core/errors.js';
import { isDenoiserCard } from '../models/denoiser-card.js';
import { packageRoot } from '../package-root.js';
import type { OutputStreams } from './streams.js';

const count = (min: number) => (v: string) => {
  const x = Number(v);
  if (!/^\d+$/.test(v.trim()) || x < min) throw new InvalidArgumentError(`expected a whole number >= ${min}`);
  return x;
};

interface ServeFlags {
  model: string[];
  denoiser: string[];
  port: number;
  host: string;
  workers?: number;
  threads: number;
  maxQueue?: number;
  maxN: number;
  maxN0: number;
  timeout: number;
  bodyLimit: number;
  maxImagePixels: number;
  batch: number;
  page: boolean;
  log: boolean;
}

/** The model the quick start certifies with: the default of the API and the page. */
const QUICKSTART_MODEL = 'fmnist-cnn-s025';

/**
 * The models shipped with the package (models/<name>/model.onnx), served when no --model is given:
 * the classifiers (the quick start's first) and the denoisers (their card says so).
 */
function bundledModels(): { classifiers: string[]; denoisers: string[] } {
  const dir = join(packageRoot, 'models');
  if (!existsSync(dir))
    throw new UsageError(
      'no bundled models in this install (the npm package ships none; they are in the repository): give --model <path>',
    );
  const all = readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, 'model.onnx')))
    .sort((a, b) => Number(b === QUICKSTART_MODEL) - Number(a === QUICKSTART_MODEL) || a.localeCompare(b))
    .map((name) => join(dir, name));
  const denoiser = (path: string) =>
    existsSync(join(path, 'model.json')) &&
    isDenoiserCard(JSON.parse(readFileSync(join(path, 'model.json'), 'utf8')));
  return { classifiers: all.filter((p) => !denoiser(p)), denoisers: all.filter(denoiser) };
}

export function register(program: Command, streams: OutputStreams): void {
  program
    .command('serve')
    .description('HTTP API (POST /v1/certify, /v1/predict; /openapi.json) and the web page at /')
    .option(
      '--model <path>',
      'model to serve (repeat for several; default: every bundled model)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option(
      '--denoiser <path>',
      'denoiser a request may put in front of a model (repeat for several; default: every bundled denoiser when no --model is given)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('--port <p>', 'TCP port (0: any free port)', count(0), 8080)
    .option('--host <h>', 'address to listen on (0.0.0.0: every interface)', '127.0.0.1')
    .option('--workers <w>', 'certification worker threads (default: one per core)', count(1))
    .option('--threads <t>', 'ONNX Runtime threads per worker', count(1), 1)
    .option('--max-queue <q>', 'requests waiting for a worker before 503 (default: 4 per worker)', count(0))
    .option('--max-n <n>', 'largest n a request may ask for', count(1), 100_000)
    .option('--max-n0 <n>', 'largest n0 a request may ask for', count(1), 10_000)
    .option('--timeout <s>', 'per-request limit on certification time, seconds', count(1), 60)
    .option('--body-limit <bytes>', 'largest request body', count(1), 1024 * 1024)
    .option('--max-image-pixels <p>', 'largest image, in pixels', count(1), 1_000_000)
    .option(
      '--batch <b>',
      'noisy samples drawn per step (the model call size is measured, within the call memory; changes no certificate)',
      count(1),
      200,
    )
    .option('--no-page', 'API only, no web page')
    .option('--log', 'log every request (JSON lines on stdout)', false)
    .action(async (flags: ServeFlags) => {
      if (flags.port > 65535) throw new UsageError(`--port must be at most 65535, got ${flags.port}`);
      // loaded here: the other commands do not pay for the server's modules
      const { createService } = await import('../serve/app.js');
      const bundled = flags.model.length > 0 ? null : bundledModels();
      const service = await createService({
        models: bundled?.classifiers ?? flags.model,
        denoisers: flags.denoiser.length > 0 ? flags.denoiser : (bundled?.denoisers ?? []),
        workers: flags.workers,
        threads: flags.threads,
        maxQueue: flags.maxQueue,
        maxN: flags.maxN,
        maxN0: flags.maxN0,
        timeoutMs: flags.timeout * 1000,
        bodyLimit: flags.bodyLimit,
        maxImagePixels: flags.maxImagePixels,
        batch: flags.batch,
        webRoot: flags.page ? undefined : null,
        logger: flags.log,
      });
      let address: string;
      try {
        address = await service.app.listen({ port: flags.port, host: flags.host });
      } catch (e) {
        await service.close();
        throw new UsageError(`cannot listen on ${flags.host}:${flags.port} (${(e as Error).message})`);
      }
      streams.stderr.write(`smooth-reduce: serving on ${address} (API: ${address}/openapi.json)\n`);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          streams.stderr.write(`smooth-reduce: ${signal}: finishing the requests in flight\n`);
          process.off('SIGTERM', onTerm);
          process.off('SIGINT', onInt);
          service.close().then(resolve, resolve);
        };
        const onTerm = () => stop('SIGTERM');
        const onInt = () => stop('SIGINT');
        process.on('SIGTERM', onTerm);
        process.on('SIGINT', onInt);
      });
    });
}
