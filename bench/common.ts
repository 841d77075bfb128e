/**
 * Shared pieces of the benchmark (bench/main.ts and its phase modules, bench/child.ts, bench/report.ts): the library
 * loader (dist/ or src/), the models and smoothing configurations measured, data and machine
 * description, the CPU profile summary, progress lines and child processes.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem, availableParallelism, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The library modules the benchmark drives, from dist/ (built, the default) or src/ (through tsx). */
export interface Library {
  smoothed: typeof import('../src/smoothed-classifier.js');
  onnx: typeof import('../src/models/onnx-classifier.js');
  data: typeof import('../src/data/open.js');
  rng: typeof import('../src/core/rng.js');
}

export type LibrarySource = 'dist' | 'src';

export async function loadLibrary(source: LibrarySource): Promise<Library> {
  const base = source === 'dist' ? join(ROOT, 'dist', 'src') : join(ROOT, 'src');
  const ext = source === 'dist' ? '.js' : '.ts';
  const entry = join(base, `smoothed-classifier${ext}`);
  if (!existsSync(entry)) {
    throw new Error(
      source === 'dist'
        ? `${entry} is missing: run \`npm run build\` first (or pass --lib src)`
        : `${entry} is missing`,
    );
  }
  const load = (p: string) => import(join(base, p + ext));
  return {
    smoothed: await load('smoothed-classifier'),
    onnx: await load('models/onnx-classifier'),
    data: await load('data/open'),
    rng: await load('core/rng'),
  };
}

// ------------------------------------------------------------------------------------- what is measured

export interface ModelSpec {
  key: 'fmnist' | 'cifar10' | 'light';
  /** model folder (model.onnx + model.json), relative to the repository or absolute */
  model: string;
  /** PyTorch architecture in training/train.py (null: no PyTorch comparison) */
  arch: 'fmnist_cnn' | 'cifar_cnn' | null;
  sigma: number;
}

/** Where bench/light_model.py writes the light model (random weights; only its speed matters). */
export const LIGHT_MODEL_DIR = join(tmpdir(), 'smooth-reduce-bench-light-cnn');

export const MODELS: ModelSpec[] = [
  { key: 'fmnist', model: 'models/fmnist-cnn-s025', arch: 'fmnist_cnn', sigma: 0.25 },
  { key: 'cifar10', model: 'models/cifar10-cnn-s025', arch: 'cifar_cnn', sigma: 0.25 },
  { key: 'light', model: LIGHT_MODEL_DIR, arch: null, sigma: 0.25 },
];

/** The model folder of a spec, absolute. */
export function modelDir(m: ModelSpec): string {
  return resolve(ROOT, m.model);
}

export interface ConfigSpec {
  name: string;
  label: string;
  method: 'rs' | 'max' | 'mean';
  /** patch stride on the resized image (input + 4 on each side) */
  stride: number;
  /** model inputs per noisy sample */
  k: number;
}

/** RS, and Smooth-Max / Smooth-Mean with the input resized by +4 (28 -> 32, 32 -> 36), stride 2 and 1. */
export const CONFIGS: ConfigSpec[] = [
  { name: 'rs', label: 'RS', method: 'rs', stride: 1, k: 1 },
  { name: 'max9', label: 'Smooth-Max, 9 patches', method: 'max', stride: 2, k: 9 },
  { name: 'mean9', label: 'Smooth-Mean, 9 patches', method: 'mean', stride: 2, k: 9 },
  { name: 'max25', label: 'Smooth-Max, 25 patches', method: 'max', stride: 1, k: 25 },
  { name: 'mean25', label: 'Smooth-Mean, 25 patches', method: 'mean', stride: 1, k: 25 },
];

export function configByName(name: string): ConfigSpec {
  const c = CONFIGS.find((x) => x.name === name);
  if (!c) throw new Error(`unknown configuration ${name} (one of ${CONFIGS.map((x) => x.name).join(', ')})`);
  return c;
}

export function modelByKey(key: string): ModelSpec {
  const m = MODELS.find((x) => x.key === key);
  if (!m) throw new Error(`unknown model ${key} (one of ${MODELS.map((x) => x.key).join(', ')})`);
  return m;
}

/** The data set of a model: the bundled Fashion-MNIST sample, or the CIFAR-10 JPEG test folder. */
export function dataPath(key: ModelSpec['key'], cifarData?: string): string | null {
  if (key === 'fmnist' || key === 'light') return join(ROOT, 'data', 'fashion-mnist-sample');
  const candidates = [
    cifarData,
    process.env.CIFAR_DIR,
    join(ROOT, 'data', 'cifar10-jpeg', 'test'),
    '/tmp/cifar10-jpeg/test',
  ];
  for (const c of candidates) if (c && existsSync(c)) return c;
  return null;
}

/** `count` indices spread evenly over the data set (class-major folders get several classes). */
export function spreadIndices(size: number, count: number): number[] {
  const n = Math.min(count, size);
  return Array.from({ length: n }, (_, i) => Math.floor((i * size) / n));
}

/** Smoothing options of one configuration (everything else: the library's defaults). */
export function smoothingOptions(
  lib: Library,
  model: ModelSpec,
  config: ConfigSpec,
  s: { n0: number; n: number; alpha: number; batch: number; seed: number },
) {
  return {
    ...lib.smoothed.defaultSmoothingOptions,
    method: config.method,
    stride: config.stride,
    sigma: model.sigma,
    n0: s.n0,
    n: s.n,
    alpha: s.alpha,
    batch: s.batch,
    seed: s.seed,
  };
}

// ------------------------------------------------------------------------------------------- machine

export interface MachineInfo {
  cpuModel: string;
  logicalCpus: number;
  availableParallelism: number;
  totalMemGiB: number;
  platform: string;
  kernel: string;
  loadavg: number[];
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  return {
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    logicalCpus: c.length,
    availableParallelism: availableParallelism(),
    totalMemGiB: round(totalmem() / 2 ** 30, 1),
    platform: `${process.platform} ${process.arch}`,
    kernel: release(),
    loadavg: loadavg().map((x) => round(x, 2)),
  };
}

function procStatBusy(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = v;
    const busy = user + nice + system + irq + softirq + (steal ?? 0);
    return { busy, total: busy + idle + iowait };
  } catch {
    return null;
  }
}

/**
 * Fraction of the machine's CPU time used by other processes while this one sleeps for `ms`
 * (Linux /proc/stat; null elsewhere): 0 on a quiet machine, 0.8 when 80% of all cores are busy.
 */
export async function backgroundCpu(ms = 1000): Promise<number | null> {
  const a = procStatBusy();
  await new Promise((r) => setTimeout(r, ms));
  const b = procStatBusy();
  if (!a || !b || b.total === a.total) return null;
  return round((b.busy - a.busy) / (b.total - a.total), 3);
}

export function packageVersion(name: string): string {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// ------------------------------------------------------------------------------------------ profiles

/** V8 CPU profile (the .cpuprofile format of `node --cpu-prof` and the inspector's Profiler.stop). */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileEntry {
  function: string;
  where: string;
  selfMs: number;
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** self time of the native session.run binding (the forward passes; ORT's other threads not counted) */
  ortRunMs: number;
  ortRunShare: number;
  /** self time grouped: ort, ort-js, noise, gather, vote, sampler, gc, idle, program, other */
  groups: Record<string, { ms: number; share: number }>;
  /** hottest functions outside session.run, by self time */
  top: ProfileEntry[];
}

function frameName(f: CpuProfile['nodes'][number]['callFrame']): { fn: string; where: string } {
  const file = f.url ? basename(f.url.replace(/^file:\/\//, '')) : '';
  return {
    fn: f.functionName || '(anonymous)',
    where: file ? `${file}:${f.lineNumber + 1}` : f.url === '' ? 'native' : f.url,
  };
}

/** Which part of the hot path a function belongs to (by name; see src/sampling/sampler.ts). */
function groupOf(fn: string, where: string, underOrt: boolean): string {
  if (underOrt) return 'ort';
  if (fn === '(garbage collector)') return 'gc';
  if (fn === '(idle)') return 'idle';
  if (fn === '(program)') return 'program';
  if (/^(fillNoisy|tail|nextGaussian|nextInt32|nextUniform)$/.test(fn)) return 'noise';
  if (fn === 'apply' && where.startsWith('linear-map')) return 'gather';
  if (/^(vote|tally|softmax)$/.test(fn)) return 'vote';
  if (/^(reserve|draw|count)$/.test(fn) && where.startsWith('sampler')) return 'sampler';
  if (where.startsWith('onnx-classifier') || where.startsWith('backend') || where.includes('onnxruntime'))
    return 'ort-js';
  return 'other';
}

/**
 * Self time per function of a V8 CPU profile. The forward passes run synchronously on the main
 * thread inside the native `run` of onnxruntime-node's binding (called from its backend.js), so
 * that node and everything under it is ORT time; the rest is the library's own work in JavaScript.
 */
export function summarizeProfile(p: CpuProfile, topN = 12): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000; // the delta after a sample is the time spent in it
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt);
  }
  // the binding's run is a native frame (url '') called from onnxruntime-node's backend.js
  const isOrtRun = (id: number) => {
    const f = byId.get(id)!.callFrame;
    const up = parent.get(id);
    const caller = up !== undefined ? byId.get(up)!.callFrame.url : '';
    return f.url === '' && !f.functionName.startsWith('(') && caller.includes('onnxruntime-node');
  };
  const underOrt = new Map<number, boolean>();
  const ortOf = (id: number): boolean => {
    const cached = underOrt.get(id);
    if (cached !== undefined) return cached;
    const up = parent.get(id);
    const v = isOrtRun(id) || (up !== undefined && ortOf(up));
    underOrt.set(id, v);
    return v;
  };
  let total = 0;
  const groups: Record<string, number> = {};
  const fns = new Map<string, { fn: string; where: string; ms: number }>();
  for (const [id, ms] of self) {
    total += ms;
    const { fn, where } = frameName(byId.get(id)!.callFrame);
    const ort = ortOf(id);
    const g = groupOf(fn, where, ort);
    groups[g] = (groups[g] ?? 0) + ms;
    if (ort) continue;
    const key = `${fn}@${where}`;
    const e = fns.get(key) ?? { fn, where, ms: 0 };
    e.ms += ms;
    fns.set(key, e);
  }
  const share = (ms: number) => (total > 0 ? round(ms / total, 4) : 0);
  return {
    totalMs: round(total, 1),
    ortRunMs: round(groups.ort ?? 0, 1),
    ortRunShare: share(groups.ort ?? 0),
    groups: Object.fromEntries(
      Object.entries(groups)
        .sort((a, b) => b[1] - a[1])
        .map(([g, ms]) => [g, { ms: round(ms, 1), share: share(ms) }]),
    ),
    top: [...fns.values()]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, topN)
      .map((e) => ({ function: e.fn, where: e.where, selfMs: round(e.ms, 1), share: share(e.ms) })),
  };
}

export async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

// ---------------------------------------------------------------------- progress and child processes

export const t0 = performance.now();
export function log(msg: string): void {
  const s = ((performance.now() - t0) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${s} s] ${msg}\n`);
}

export function runChild(
  cmd: string,
  args: string[],
  what: string,
): Promise<{ stdout: string; code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (stdout += d));
    child.on('error', (e) => reject(new Error(`${what}: ${e.message}`)));
    child.on('close', (code, signal) => resolve({ stdout, code, signal }));
  });
}

export function lastJsonLine<T>(stdout: string, what: string): T {
  const line = stdout.trim().split('\n').pop();
  if (!line) throw new Error(`${what}: no output`);
  return JSON.parse(line) as T;
}
