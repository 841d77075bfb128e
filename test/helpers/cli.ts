/**
 * Running the smooth-reduce command line from tests: in a child process from the TypeScript sources
 * (`node --import tsx src/cli/main.ts`, no build needed), or in-process through `main()` with
 * collected output (much faster; the command line and its output are the same).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/program.js';
import { IdxDataset } from '../../src/data/idx.js';
import { linearModel } from './onnx-models.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SAMPLE = join(REPO, 'data', 'fashion-mnist-sample');
const ENTRY = join(REPO, 'src', 'cli', 'main.ts');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `smooth-reduce <args>` in a child process (from the sources, through tsx). */
export function spawnCli(args: string[], options: { cwd?: string } = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], {
    cwd: options.cwd ?? REPO,
    env: { ...process.env, SMOOTH_REDUCE_DEBUG: '', FORCE_COLOR: '0', NODE_TEST_CONTEXT: undefined },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** The exit of a child started by spawnCli, with everything it printed. */
export function finished(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export function cli(args: string[]): Promise<CliResult> {
  return finished(spawnCli(args));
}

/** `smooth-reduce <args>` in this process through main(), as the executable runs it. */
export async function cliInProcess(args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'smooth-reduce', ...args], {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
  });
  return { code, signal: null, stdout, stderr };
}

/** Runs at most `limit` of the jobs at a time; results in order. */
export async function limited<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const k = next++;
      results[k] = await jobs[k]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}

/**
 * A nearest-centroid classifier on the bundled Fashion-MNIST sample as a linear ONNX model,
 * logits_c = x . mu_c - |mu_c|^2 / 2, with mu_c the mean image of class c over the first
 * `from` images (about 65 % clean accuracy, so certificates are neither all abstentions nor trivial).
 * Written to `path` with no model card (the shape comes from the graph).
 */
export async function writeCentroidModel(path: string, from = 200): Promise<string> {
  const data = new IdxDataset(join(SAMPLE, 't10k-images-idx3-ubyte.gz'));
  const d = 28 * 28;
  const sums = new Float64Array(10 * d);
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < from; i++) {
    const x = await data.get(i);
    counts[x.label]++;
    for (let j = 0; j < d; j++) sums[x.label * d + j] += x.pixels[j];
  }
  const weights = new Float32Array(10 * d);
  const bias = new Float32Array(10);
  for (let c = 0; c < 10; c++) {
    let norm = 0;
    for (let j = 0; j < d; j++) {
      const mu = sums[c * d + j] / Math.max(1, counts[c]);
      weights[c * d + j] = mu;
      norm += mu * mu;
    }
    bias[c] = -norm / 2;
  }
  writeFileSync(path, linearModel([1, 28, 28], weights, bias));
  return path;
}

/** A log's text without its `time` column (the only column that differs between equal runs). */
export function withoutTime(path: string): string {
  const lines = readFileSync(path, 'utf8').split('\n');
  const time = lines[0].split('\t').indexOf('time');
  if (time < 0) throw new Error(`${path}: no time column`);
  return lines
    .map((l) =>
      l === ''
        ? l
        : l
            .split('\t')
            .filter((_, k) => k !== time)
            .join('\t'),
    )
    .join('\n');
}
