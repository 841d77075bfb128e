/**
 * `npm run bench`: the performance benchmark of smooth-reduce (see docs/performance.md).
 *
 * For each shipped model (fmnist-cnn-s025, cifar10-cnn-s025), in one process, on one thread count:
 *  1. raw ONNX Runtime throughput (session.run of batch * k model inputs, the library's session options);
 *  2. certify throughput of the library (SmoothedClassifier) for RS, Smooth-Max and Smooth-Mean with 9
 *     and 25 patches, in model forward passes per second, and its ratio to (1);
 *  3. the same certifications by the PyTorch reference (bench/reference_smooth.py): time ratio and agreement;
 *  4. peak RSS of one certification per child process for small and large n, and time per certificate;
 *  5. a V8 CPU profile of one certification per configuration: where the time goes outside session.run.
 *
 *   npm run bench                    # full run (about 35 minutes on 2 cores)
 *   npm run bench -- --quick         # smoke run (about 2 minutes)
 *   npm run bench -- --help
 *
 * Tables go to stdout, progress to stderr, everything measured to bench/results/<mode>.json;
 * `node --import tsx bench/report.ts <json>` turns that file into docs/performance.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import {
  CONFIGS,
  type ConfigSpec,
  type Library,
  type LibrarySource,
  MODELS,
  type ModelSpec,
  ROOT,
  backgroundCpu,
  configByName,
  dataPath,
  loadLibrary,
  machineInfo,
  modelByKey,
  modelDir,
  LIGHT_MODEL_DIR,
  packageVersion,
  round,
  smoothingOptions,
  spreadIndices,
} from './common.js';
import type { ChildSpec } from './child.js';
import {
  type BenchResult,
  type CertifyInputResult,
  type CertifyResult,
  type MemoryResult,
  type ModelResult,
  type ProfileResult,
  type RawResult,
  type ReferenceResult,
  RESULT_FORMAT,
  RESULT_VERSION,
  certifyTable,
  memoryTable,
  profileTable,
  rawTable,
  referenceBatchTable,
  referenceTable,
} from './results.js';
import { writeReport } from './report.js';

const HELP = `npm run bench -- [options]

  --quick                 smoke run (~2 minutes): small n, few configurations
  --models LIST           fmnist,cifar10,light (default all; CIFAR-10 needs the JPEG test folder, light
                          a random-weight CNN that bench/light_model.py writes with PyTorch)
  --configs LIST          rs,max9,mean9,max25,mean25 (default all)
  --threads T             ONNX Runtime intra-op threads and torch threads (default os.availableParallelism())
  --batch B               noisy samples per step for the reference, memory and profile runs (default 400)
  --batches LIST          certify throughput at each of these --batch values (default 100,400,1000,2000)
  --raw-sizes LIST        raw ORT: model inputs per session.run (default 64,256,1024,4096)
  --ref-batches LIST      PyTorch comparison of RS at each batch (default 100,400,1000; all
                          --ref-configs at --batch)
  --n0 N0 --n N           certify throughput: samples (default 100 and 10,000)
  --inputs K              certify throughput: inputs per configuration (default 1)
  --alpha A --seed S      (default 0.001, 0)
  --raw-seconds S         raw ORT: seconds per batch size (default 5)
  --ref-n N --ref-inputs K --ref-configs LIST
                          PyTorch comparison (default n = 500, 2 inputs, all configurations)
  --no-python             skip the PyTorch comparison
  --python PATH           interpreter with torch, onnx, scipy (default /usr/bin/python3)
  --memory LIST           model:config:n[:batch] entries, one child process each, or "none"
                          (default fmnist:rs:10000,fmnist:rs:1000000,fmnist:mean25:2000:2000,
                          cifar10:rs:10000,cifar10:rs:100000,cifar10:mean25:1000:400,cifar10:mean25:1000:2000)
  --profile-forwards F    forward passes per profiled certification (default 20,000; 0 = no profiles)
  --profile-configs LIST  configurations to profile (default all)
  --profile-dir DIR       keep the .cpuprofile files there (default: a temporary folder, deleted)
  --lib dist|src          library under test: the build in dist/ (default) or src/ through tsx
  --cifar-data DIR        CIFAR-10 JPEG test folder (default $CIFAR_DIR, data/cifar10-jpeg/test, /tmp/cifar10-jpeg/test)
  --out FILE              result JSON (default bench/results/<quick|full>.json)
  --doc FILE              also write the report (e.g. docs/performance.md) from the result
`;

interface Options {
  mode: string;
  models: ModelSpec[];
  configs: ConfigSpec[];
  threads: number;
  batch: number;
  batches: number[];
  rawSizes: number[];
  refBatches: number[];
  n0: number;
  n: number;
  inputs: number;
  alpha: number;
  seed: number;
  rawSeconds: number;
  refN: number;
  refInputs: number;
  refConfigs: ConfigSpec[];
  python: string | null;
  memory: { model: string; config: string; n: number; batch: number | null }[];
  profileForwards: number;
  profileConfigs: ConfigSpec[];
  profileDir: string | null;
  lib: LibrarySource;
  cifarData?: string;
  out: string;
  doc: string | null;
}

function parseOptions(argv: string[]): Options | null {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      help: { type: 'boolean' },
      quick: { type: 'boolean' },
      models: { type: 'string' },
      configs: { type: 'string' },
      threads: { type: 'string' },
      batch: { type: 'string' },
      batches: { type: 'string' },
      'raw-sizes': { type: 'string' },
      'ref-batches': { type: 'string' },
      n0: { type: 'string' },
      n: { type: 'string' },
      inputs: { type: 'string' },
      alpha: { type: 'string' },
      seed: { type: 'string' },
      'raw-seconds': { type: 'string' },
      'ref-n': { type: 'string' },
      'ref-inputs': { type: 'string' },
      'ref-configs': { type: 'string' },
      'no-python': { type: 'boolean' },
      python: { type: 'string' },
      memory: { type: 'string' },
      'profile-forwards': { type: 'string' },
      'profile-configs': { type: 'string' },
      'profile-dir': { type: 'string' },
      lib: { type: 'string' },
      'cifar-data': { type: 'string' },
      out: { type: 'string' },
      doc: { type: 'string' },
    },
  });
  if (v.help) {
    process.stdout.write(HELP);
    return null;
  }
  const quick = Boolean(v.quick);
  const num = (s: string | undefined, d: number, what: string) => {
    if (s === undefined) return d;
    const x = Number(s.replace(/_/g, ''));
    if (!Number.isFinite(x) || x < 0) throw new Error(`--${what}: not a number: ${s}`);
    return x;
  };
  const list = <T>(s: string | undefined, d: string, f: (x: string) => T) =>
    (s ?? d)
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)
      .map(f);
  const defaults = quick
    ? {
        configs: 'rs,mean9',
        batches: '400',
        rawSizes: '256,1024',
        refBatches: '400',
        n: 400,
        inputs: 1,
        rawSeconds: 1,
        refN: 200,
        refInputs: 1,
        refConfigs: 'rs,mean9',
        memory: 'fmnist:rs:1000,fmnist:rs:100000',
        profileForwards: 10_000,
        profileConfigs: 'rs,mean9',
      }
    : {
        configs: CONFIGS.map((c) => c.name).join(','),
        batches: '100,400,1000,2000',
        rawSizes: '64,256,1024,4096',
        refBatches: '100,400,1000',
        n: 10_000,
        inputs: 1,
        rawSeconds: 5,
        refN: 500,
        refInputs: 2,
        refConfigs: CONFIGS.map((c) => c.name).join(','),
        memory:
          'fmnist:rs:10000,fmnist:rs:1000000,fmnist:mean25:2000:2000,cifar10:rs:10000,cifar10:rs:100000,' +
          'cifar10:mean25:1000:400,cifar10:mean25:1000:2000',
        profileForwards: 20_000,
        profileConfigs: CONFIGS.map((c) => c.name).join(','),
      };
  const explicit = argv.some(
    (a) => !['--quick', '--doc', '--out'].includes(a.split('=')[0]) && a.startsWith('--'),
  );
  const mode = (quick ? 'quick' : 'full') + (explicit ? '-custom' : '');
  const lib = (v.lib ?? 'dist') as LibrarySource;
  if (lib !== 'dist' && lib !== 'src') throw new Error(`--lib must be dist or src, got ${v.lib}`);
  const memory =
    (v.memory ?? defaults.memory) === 'none'
      ? []
      : list(v.memory, defaults.memory, (e) => {
          const [model, config, n, b] = e.split(':');
          modelByKey(model);
          configByName(config);
          const count = Number(n);
          if (!Number.isInteger(count) || count < 1) throw new Error(`--memory: bad n in ${e}`);
          const batch = b === undefined ? null : Number(b);
          if (batch !== null && !(Number.isInteger(batch) && batch >= 1))
            throw new Error(`--memory: bad batch in ${e}`);
          return { model, config, n: count, batch };
        });
  const o: Options = {
    mode,
    models: list(v.models, MODELS.map((m) => m.key).join(','), modelByKey),
    configs: list(v.configs, defaults.configs, configByName),
    threads: num(v.threads, availableParallelism(), 'threads'),
    batch: num(v.batch, 400, 'batch'),
    batches: list(v.batches, defaults.batches, (x) => num(x, 0, 'batches')),
    rawSizes: list(v['raw-sizes'], defaults.rawSizes, (x) => num(x, 0, 'raw-sizes')),
    refBatches: list(v['ref-batches'], defaults.refBatches, (x) => num(x, 0, 'ref-batches')),
    n0: num(v.n0, 100, 'n0'),
    n: num(v.n, defaults.n, 'n'),
    inputs: num(v.inputs, defaults.inputs, 'inputs'),
    alpha: num(v.alpha, 0.001, 'alpha'),
    seed: num(v.seed, 0, 'seed'),
    rawSeconds: num(v['raw-seconds'], defaults.rawSeconds, 'raw-seconds'),
    refN: num(v['ref-n'], defaults.refN, 'ref-n'),
    refInputs: num(v['ref-inputs'], defaults.refInputs, 'ref-inputs'),
    refConfigs: list(v['ref-configs'], defaults.refConfigs, configByName),
    python: v['no-python'] ? null : (v.python ?? '/usr/bin/python3'),
    memory,
    profileForwards: num(v['profile-forwards'], defaults.profileForwards, 'profile-forwards'),
    profileConfigs: list(v['profile-configs'], defaults.profileConfigs, configByName),
    profileDir: v['profile-dir'] ?? null,
    lib,
    cifarData: v['cifar-data'],
    out: v.out ?? join(ROOT, 'bench', 'results', `${quick ? 'quick' : 'full'}.json`),
    doc: v.doc ?? null,
  };
  for (const [k, x] of [
    ['threads', o.threads],
    ['batch', o.batch],
    ['n0', o.n0],
    ['n', o.n],
    ['inputs', o.inputs],
  ] as const) {
    if (!Number.isInteger(x) || x < 1) throw new Error(`--${k} must be a positive integer, got ${x}`);
  }
  if (o.n0 > o.n || o.n0 > o.refN) throw new Error('--n0 must not exceed --n and --ref-n');
  for (const [k, xs] of [
    ['batches', o.batches],
    ['raw-sizes', o.rawSizes],
    ['ref-batches', o.refBatches],
  ] as const) {
    if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < 1))
      throw new Error(`--${k} must list positive integers`);
  }
  return o;
}

// ------------------------------------------------------------------------------------------- helpers

const t0 = performance.now();
function log(msg: string): void {
  const s = ((performance.now() - t0) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${s} s] ${msg}\n`);
}

function runChild(
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

function lastJsonLine<T>(stdout: string, what: string): T {
  const line = stdout.trim().split('\n').pop();
  if (!line) throw new Error(`${what}: no output`);
  return JSON.parse(line) as T;
}

// ------------------------------------------------------------------------------------ 1. raw ORT

async function rawThroughput(o: Options, model: ModelSpec, shape: number[]): Promise<RawResult[]> {
  // The library's session options (src/models/onnx-classifier.ts)
  const session = await ort.InferenceSession.create(readFileSync(join(modelDir(model), 'model.onnx')), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: o.threads,
  });
  const size = shape[0] * shape[1] * shape[2];
  const out: RawResult[] = [];
  try {
    for (const batchInputs of o.rawSizes) {
      const data = new Float32Array(batchInputs * size);
      for (let i = 0; i < data.length; i++) data[i] = Math.random();
      const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [batchInputs, ...shape]) };
      for (let i = 0; i < 2; i++) await session.run(feeds); // warm-up: arena, kernels
      let runs = 0;
      const start = performance.now();
      let elapsed = 0;
      while (runs < 3 || elapsed < o.rawSeconds * 1000) {
        await session.run(feeds);
        runs++;
        elapsed = performance.now() - start;
      }
      const seconds = elapsed / 1000;
      out.push({ batchInputs, runs, seconds, forwardsPerSec: (runs * batchInputs) / seconds });
      log(
        `${model.key} raw ORT, ${batchInputs} inputs per run: ${Math.round((runs * batchInputs) / seconds)} forward passes/s`,
      );
    }
  } finally {
    await session.release();
  }
  return out;
}

// ----------------------------------------------------------------------------------- 2. certify

type OnnxClassifier = Awaited<ReturnType<Library['onnx']['OnnxClassifier']['load']>>;
type Classifier = import('../src/models/classifier.js').Classifier;

/**
 * A base classifier that costs (almost) nothing: it answers like onnxruntime-node (on a later turn of
 * the event loop, with a freshly allocated output) without computing. Certifying with it measures
 * the library's own time: noise, gather, votes, statistics.
 */
class NullClassifier implements Classifier {
  readonly inputShape: Classifier['inputShape'];
  readonly numClasses: number;
  constructor(like: Classifier) {
    this.inputShape = like.inputShape;
    this.numClasses = like.numClasses;
  }
  async run(_batch: Float32Array, count: number): Promise<Float32Array> {
    await new Promise((resolve) => setImmediate(resolve));
    const out = new Float32Array(count * this.numClasses);
    for (let i = 0; i < count; i++) out[i * this.numClasses + (i % this.numClasses)] = 1;
    return out;
  }
}
interface Input {
  index: number;
  label: number;
  pixels: Float32Array;
}

async function certifyInputs(
  lib: Library,
  o: Options,
  classifier: Classifier,
  dataShape: { channels: number; height: number; width: number },
  model: ModelSpec,
  config: ConfigSpec,
  inputs: Input[],
  n0: number,
  n: number,
  batch = o.batch,
): Promise<{ seconds: number; callInputs: number; results: CertifyInputResult[] }> {
  const settings = { n0, n, alpha: o.alpha, batch, seed: o.seed };
  // warm-up until the call size is measured (the sizer is shared by every SmoothedClassifier of
  // this classifier and geometry), so that ORT's arena and the JIT are ready
  const warm = new lib.smoothed.SmoothedClassifier(
    classifier,
    dataShape,
    smoothingOptions(lib, model, config, { ...settings, n: Math.max(n0, Math.min(n, 2000)) }),
  );
  for (let i = 0; i < 50 && !warm.callSize.settled; i++)
    await warm.certify({ pixels: inputs[0].pixels, index: inputs[0].index });
  const g = new lib.smoothed.SmoothedClassifier(
    classifier,
    dataShape,
    smoothingOptions(lib, model, config, settings),
  );
  const results: CertifyInputResult[] = [];
  let seconds = 0;
  for (const x of inputs) {
    const start = performance.now();
    const r = await g.certify({ pixels: x.pixels, index: x.index });
    const dt = (performance.now() - start) / 1000;
    seconds += dt;
    results.push({
      index: x.index,
      label: x.label,
      prediction: r.prediction,
      radius: r.radius,
      radiusSmoothing: r.radiusSmoothing,
      pALower: r.pALower,
      nA: r.nA,
      seconds: dt,
    });
  }
  return { seconds, callInputs: g.callSize.inputs, results };
}

// -------------------------------------------------------------------------------- 3. reference

async function reference(
  lib: Library,
  o: Options,
  classifier: OnnxClassifier,
  dataShape: { channels: number; height: number; width: number },
  model: ModelSpec,
  inputs: Input[],
  resize: number[],
): Promise<ReferenceResult> {
  const dir = mkdtempSync(join(tmpdir(), 'smooth-reduce-bench-'));
  try {
    const size = dataShape.channels * dataShape.height * dataShape.width;
    const stacked = new Float32Array(inputs.length * size);
    inputs.forEach((x, i) => stacked.set(x.pixels, i * size));
    writeFileSync(join(dir, 'inputs.f32'), Buffer.from(stacked.buffer));
    // ORT logits on the clean inputs and on one noisy copy of each, for the PyTorch model to match
    const rng = new lib.rng.GaussianRng(o.seed + 1, 0);
    const checks = new Float32Array(2 * stacked.length);
    checks.set(stacked);
    for (let i = 0; i < stacked.length; i++)
      checks[stacked.length + i] = stacked[i] + model.sigma * rng.nextGaussian();
    const logits = await classifier.run(Float32Array.from(checks), 2 * inputs.length);
    writeFileSync(join(dir, 'checks.f32'), Buffer.from(checks.buffer));
    writeFileSync(join(dir, 'logits.f32'), Buffer.from(Float32Array.from(logits).buffer));
    // the library's resized images (the smoothing-space centres of the patch configurations)
    let noiseScale: number | null = null;
    const patchConfig = o.refConfigs.find((c) => c.method !== 'rs');
    if (patchConfig) {
      const g = new lib.smoothed.SmoothedClassifier(
        classifier,
        dataShape,
        smoothingOptions(lib, model, patchConfig, {
          n0: 1,
          n: 1,
          alpha: o.alpha,
          batch: o.batch,
          seed: o.seed,
        }),
      );
      const centers = inputs.map((x) => g.reducer.prepare(x.pixels, x.index));
      noiseScale = centers[0].noiseScale;
      const flat = new Float32Array(centers.reduce((a, p) => a + p.center.length, 0));
      let off = 0;
      for (const p of centers) {
        flat.set(p.center, off);
        off += p.center.length;
      }
      writeFileSync(join(dir, 'centers.f32'), Buffer.from(flat.buffer));
    }

    // the library
    const node = new Map<string, { seconds: number; results: CertifyInputResult[] }>();
    for (const c of o.refConfigs) {
      const r = await certifyInputs(lib, o, classifier, dataShape, model, c, inputs, o.n0, o.refN);
      node.set(c.name, r);
      log(
        `${model.key} reference, library ${c.name}: ${r.seconds.toFixed(2)} s for ${inputs.length} input(s)`,
      );
    }

    // PyTorch
    const spec = {
      model: join(modelDir(model), 'model.onnx'),
      arch: model.arch,
      inputs: join(dir, 'inputs.f32'),
      shape: [dataShape.channels, dataShape.height, dataShape.width],
      resize: resize.slice(1),
      indices: inputs.map((x) => x.index),
      labels: inputs.map((x) => x.label),
      numClasses: classifier.numClasses,
      sigma: model.sigma,
      n0: o.n0,
      n: o.refN,
      alpha: o.alpha,
      batch: o.batch,
      threads: o.threads,
      seed: o.seed,
      configs: o.refConfigs.map((c) => ({ name: c.name, method: c.method, stride: c.stride, k: c.k })),
      checks: { inputs: join(dir, 'checks.f32'), logits: join(dir, 'logits.f32') },
      centers: patchConfig ? join(dir, 'centers.f32') : null,
    };
    writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
    log(`${model.key} reference: PyTorch (${o.python} bench/reference_smooth.py) ...`);
    const res = await runChild(
      o.python!,
      [join(ROOT, 'bench', 'reference_smooth.py'), join(dir, 'spec.json')],
      'python',
    );
    if (res.code !== 0) throw new Error(`bench/reference_smooth.py failed (exit ${res.code ?? res.signal})`);
    const py = lastJsonLine<
      ReferenceResult['python'] & {
        configs: {
          config: string;
          seconds: number;
          modelSeconds: number;
          results: ReferenceResult['configs'][number]['python'];
        }[];
      }
    >(res.stdout, 'python');

    const configs = o.refConfigs.map((c) => {
      const a = node.get(c.name)!;
      const b = py.configs.find((x) => x.config === c.name)!;
      const same = a.results.filter((r, i) => r.prediction === b.results[i].prediction).length;
      const mean = (f: (i: number) => number) =>
        a.results.reduce((s, _, i) => s + f(i), 0) / a.results.length;
      return {
        config: c.name,
        k: c.k,
        nodeSeconds: a.seconds,
        pythonSeconds: b.seconds,
        pythonModelSeconds: b.modelSeconds,
        speedup: b.seconds / a.seconds,
        identicalPredictions: same,
        meanAbsRadiusDiff: mean((i) => Math.abs(a.results[i].radius - b.results[i].radius)),
        meanAbsRadiusSmoothingDiff: mean((i) =>
          Math.abs(a.results[i].radiusSmoothing - b.results[i].radiusSmoothing),
        ),
        node: a.results,
        python: b.results,
      };
    });
    const nodeSeconds = configs.reduce((s, c) => s + c.nodeSeconds, 0);
    const pythonSeconds = configs.reduce((s, c) => s + c.pythonSeconds, 0);
    const pyInfo: Partial<typeof py> = { ...py };
    delete pyInfo.configs;
    return {
      n0: o.n0,
      n: o.refN,
      inputs: inputs.length,
      python: pyInfo as ReferenceResult['python'],
      libraryNoiseScale: noiseScale,
      nodeSeconds,
      pythonSeconds,
      speedup: pythonSeconds / nodeSeconds,
      configs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------- 4. memory, 5. profile (children)

function childArgs(mode: 'memory' | 'profile', spec: ChildSpec): string[] {
  return ['--import', 'tsx', join(ROOT, 'bench', 'child.ts'), mode, JSON.stringify(spec)];
}

async function memory(o: Options, model: ModelSpec, data: string, index: number): Promise<MemoryResult[]> {
  const out: MemoryResult[] = [];
  for (const m of o.memory.filter((x) => x.model === model.key)) {
    const config = configByName(m.config);
    const spec: ChildSpec = {
      lib: o.lib,
      model: model.key,
      config: m.config,
      data,
      index,
      threads: o.threads,
      n0: o.n0,
      n: m.n,
      alpha: o.alpha,
      batch: m.batch ?? o.batch,
      seed: o.seed,
    };
    log(`${model.key} memory: ${m.config} n = ${m.n}, --batch ${spec.batch} in a child process ...`);
    const res = await runChild(process.execPath, childArgs('memory', spec), 'memory child');
    if (res.code !== 0) throw new Error(`memory child failed (exit ${res.code ?? res.signal})`);
    const r = lastJsonLine<{
      maxRssAfterLoadKiB: number;
      maxRssKiB: number;
      seconds: number;
      callInputs: number;
    }>(res.stdout, 'memory');
    const forwards = (o.n0 + m.n) * config.k;
    out.push({
      config: m.config,
      k: config.k,
      n: m.n,
      batch: spec.batch,
      callInputs: r.callInputs,
      maxRssAfterLoadMiB: round(r.maxRssAfterLoadKiB / 1024, 1),
      maxRssMiB: round(r.maxRssKiB / 1024, 1),
      seconds: r.seconds,
      secondsPerMillionForwards: (r.seconds / forwards) * 1e6,
    });
    log(
      `  peak RSS ${(r.maxRssKiB / 1024).toFixed(0)} MiB (after load ${(r.maxRssAfterLoadKiB / 1024).toFixed(0)} MiB), ${r.seconds.toFixed(1)} s`,
    );
  }
  return out;
}

async function profiles(o: Options, model: ModelSpec, data: string, index: number): Promise<ProfileResult[]> {
  if (o.profileForwards <= 0) return [];
  const out: ProfileResult[] = [];
  if (o.profileDir) mkdirSync(o.profileDir, { recursive: true });
  const dir = o.profileDir ?? mkdtempSync(join(tmpdir(), 'smooth-reduce-prof-'));
  try {
    for (const config of o.profileConfigs) {
      // n: about profileForwards forward passes, whole batches, at least two
      const n = Math.max(2 * o.batch, Math.round(o.profileForwards / config.k / o.batch) * o.batch);
      const file = join(dir, `${model.key}-${config.name}.cpuprofile`);
      const spec: ChildSpec = {
        lib: o.lib,
        model: model.key,
        config: config.name,
        data,
        index,
        threads: o.threads,
        n0: o.n0,
        n,
        alpha: o.alpha,
        batch: o.batch,
        seed: o.seed,
        profileOut: file,
      };
      log(`${model.key} profile: ${config.name} n = ${n} ...`);
      const res = await runChild(process.execPath, childArgs('profile', spec), 'profile child');
      if (res.code !== 0) throw new Error(`profile child failed (exit ${res.code ?? res.signal})`);
      const r = lastJsonLine<Omit<ProfileResult, 'config' | 'k' | 'n'>>(res.stdout, 'profile');
      out.push({
        config: config.name,
        k: config.k,
        n,
        ...r,
        profileFile: o.profileDir ? relative(ROOT, file) : null,
      });
      log(`  session.run ${(100 * r.summary.ortRunShare).toFixed(1)}% of ${r.seconds.toFixed(2)} s`);
    }
  } finally {
    if (!o.profileDir) rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

// ------------------------------------------------------------------------------------------- main

async function benchModel(lib: Library, o: Options, model: ModelSpec, dataDir: string): Promise<ModelResult> {
  const data = lib.data.openDataset(dataDir);
  const classifier = await lib.onnx.OnnxClassifier.load(modelDir(model), { threads: o.threads });
  const shape = [classifier.inputShape.channels, classifier.inputShape.height, classifier.inputShape.width];
  const resize = [shape[0], data.shape.height + 4, data.shape.width + 4];
  const load = async (indices: number[]) =>
    Promise.all(
      indices.map(async (i) => {
        const x = await data.get(i);
        return { index: x.index, label: x.label, pixels: x.pixels };
      }),
    );
  const result: ModelResult = {
    key: model.key,
    model: model.model,
    data: data.description,
    shape,
    sigma: model.sigma,
    resize,
    raw: [],
    certify: [],
    reference: null,
    referenceBatches: [],
    memory: [],
    profile: [],
  };
  try {
    // 1. raw ORT over a range of model-call sizes: the best is what certify is compared with
    result.raw = await rawThroughput(o, model, shape);
    const raw = Math.max(...result.raw.map((x) => x.forwardsPerSec));

    // 2. certify throughput at every --batch
    const inputs = await load(spreadIndices(data.size, o.inputs));
    for (const batch of o.batches) {
      for (const c of o.configs) {
        const r = await certifyInputs(lib, o, classifier, data.shape, model, c, inputs, o.n0, o.n, batch);
        const forwards = inputs.length * (o.n0 + o.n) * c.k;
        const fps = forwards / r.seconds;
        // the same certifications on a model that costs nothing: the library's own time per forward pass
        const free = await certifyInputs(
          lib,
          o,
          new NullClassifier(classifier),
          data.shape,
          model,
          c,
          inputs,
          o.n0,
          o.n,
          batch,
        );
        const overhead = free.seconds / forwards;
        const cr: CertifyResult = {
          config: c.name,
          k: c.k,
          batch,
          callInputs: r.callInputs,
          n0: o.n0,
          n: o.n,
          inputs: inputs.length,
          seconds: r.seconds,
          forwardsPerSec: fps,
          rawForwardsPerSec: raw,
          ratio: fps / raw,
          overheadMicrosPerForward: overhead * 1e6,
          expectedRatio: 1 / (1 + overhead * raw),
          secondsPerCertificate: r.seconds / inputs.length,
          results: r.results,
        };
        result.certify.push(cr);
        log(
          `${model.key} certify ${c.name} --batch ${batch}: ${Math.round(fps)} forward passes/s in calls of ${r.callInputs} inputs, ` +
            `ratio ${cr.ratio.toFixed(3)} to the best raw ORT (library overhead ${(overhead * 1e6).toFixed(2)} us per forward pass: ` +
            `expected ratio ${cr.expectedRatio.toFixed(3)})`,
        );
      }
    }

    // 3. PyTorch reference
    if (o.python && o.refConfigs.length > 0 && model.arch) {
      const refInputs = await load(spreadIndices(data.size, o.refInputs));
      try {
        result.reference = await reference(lib, o, classifier, data.shape, model, refInputs, resize);
        // RS at the other batch sizes: PyTorch's forward throughput against ORT's, end to end
        const rs = configByName('rs');
        for (const batch of o.refBatches) {
          const r =
            batch === o.batch
              ? result.reference
              : await reference(
                  lib,
                  { ...o, batch, refConfigs: [rs] },
                  classifier,
                  data.shape,
                  model,
                  refInputs,
                  resize,
                );
          const c = r.configs.find((x) => x.config === 'rs');
          if (!c) continue;
          const forwards = r.inputs * (r.n0 + r.n);
          const rawAtBatch = (await rawThroughput({ ...o, rawSizes: [batch] }, model, shape))[0]
            .forwardsPerSec;
          result.referenceBatches.push({
            batch,
            ortRawForwardsPerSec: rawAtBatch,
            pytorchModelForwardsPerSec: forwards / c.pythonModelSeconds,
            libraryForwardsPerSec: forwards / c.nodeSeconds,
            pythonForwardsPerSec: forwards / c.pythonSeconds,
          });
        }
      } catch (e) {
        result.referenceSkipped = (e as Error).message;
        log(`${model.key} reference skipped: ${(e as Error).message}`);
      }
    } else
      result.referenceSkipped = model.arch
        ? 'not requested (--no-python)'
        : 'no PyTorch architecture for this model';
  } finally {
    await classifier.dispose();
  }
  // 4, 5: fresh processes (the parent holds no ORT session meanwhile)
  const index = spreadIndices(data.size, 1)[0];
  result.memory = await memory(o, model, dataDir, index);
  result.profile = await profiles(o, model, dataDir, index);
  return result;
}

function printTables(r: BenchResult): void {
  const w = (s: string) => process.stdout.write(s + '\n');
  w(`\n# smooth-reduce benchmark (${r.mode}), ${r.startedAt}`);
  w(
    `${r.machine.cpuModel}, ${r.machine.logicalCpus} logical CPUs, ${r.machine.totalMemGiB} GiB; threads ${r.settings.threads}, batch ${r.settings.batch}`,
  );
  w(
    `node ${r.versions.node}, onnxruntime-node ${r.versions.onnxruntimeNode}, torch ${r.versions.torch ?? '-'}`,
  );
  w(
    `background CPU use by other processes: start ${fmtShare(r.machine.backgroundCpuStart)}, end ${fmtShare(r.machine.backgroundCpuEnd)}`,
  );
  for (const m of r.models) {
    w(`\n## ${m.key}: ${m.model} (${m.shape.join('x')}), ${m.data}`);
    w('\n1. raw ONNX Runtime\n');
    w(rawTable(m));
    w('\n2. certify throughput (library)\n');
    w(certifyTable(m));
    w(`\n3. PyTorch reference (n0 ${r.settings.n0}, n ${r.settings.refN})\n`);
    w(referenceTable(m));
    if (m.referenceBatches.length) w('\n' + referenceBatchTable(m));
    if (m.reference?.python.logitsCheck) {
      const l = m.reference.python.logitsCheck;
      w(
        `PyTorch vs ORT logits: max abs diff ${l.maxAbsDiff.toExponential(2)} on ${l.inputs} inputs (max |logit| ${l.maxAbsLogit.toFixed(1)}), same argmax ${l.sameArgmax}/${l.inputs}`,
      );
    }
    if (m.reference?.python.resizeCheck) {
      w(
        `F.interpolate vs library resize: max abs diff ${m.reference.python.resizeCheck.maxAbsDiff.toExponential(2)}`,
      );
    }
    if (m.memory.length) {
      w('\n4. memory (one child process per row)\n');
      w(memoryTable(m));
    }
    if (m.profile.length) {
      w('\n5. where the time goes (self time, V8 CPU profile of one certification)\n');
      w(profileTable(m));
    }
  }
  if (r.skipped.length) w(`\nskipped: ${r.skipped.join('; ')}`);
  w(`\ntotal ${r.durationSeconds.toFixed(0)} s`);
}

function fmtShare(x: number | null): string {
  return x === null ? 'unknown' : `${(100 * x).toFixed(0)}% of all cores`;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (!o) return;
  const startedAt = new Date().toISOString();
  const backgroundCpuStart = await backgroundCpu();
  const machine = machineInfo();
  if (backgroundCpuStart !== null && backgroundCpuStart > 0.1) {
    log(
      `warning: other processes use ${(100 * backgroundCpuStart).toFixed(0)}% of the CPU: the numbers will be low`,
    );
  }
  const lib = await loadLibrary(o.lib);
  const skipped: string[] = [];
  const models: ModelResult[] = [];
  for (const model of o.models) {
    if (model.key === 'light' && !lightModel(o)) {
      skipped.push(
        `light: bench/light_model.py could not write the light model (needs ${o.python ?? 'python'} with torch)`,
      );
      log(skipped[skipped.length - 1]);
      continue;
    }
    const dir = dataPath(model.key, o.cifarData) ?? extractCifar();
    if (!dir) {
      skipped.push(`${model.key}: no CIFAR-10 JPEG test folder (pass --cifar-data or set CIFAR_DIR)`);
      log(skipped[skipped.length - 1]);
      continue;
    }
    log(`${model.key}: ${model.model} on ${dir}`);
    models.push(await benchModel(lib, o, model, dir));
  }
  const ref = models.find((m) => m.reference)?.reference?.python;
  const result: BenchResult = {
    format: RESULT_FORMAT,
    version: RESULT_VERSION,
    mode: o.mode,
    command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(
      ' ',
    ),
    startedAt,
    finishedAt: new Date().toISOString(),
    durationSeconds: (performance.now() - t0) / 1000,
    machine: {
      ...machine,
      backgroundCpuStart,
      backgroundCpuEnd: await backgroundCpu(),
      loadavgEnd: machineInfo().loadavg,
    },
    versions: {
      node: process.versions.node,
      v8: process.versions.v8,
      onnxruntimeNode: packageVersion('onnxruntime-node'),
      onnxruntimeCore: ort.env.versions?.common ?? 'unknown',
      smoothReduce: JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version,
      ...(ref
        ? {
            python: ref.python,
            torch: ref.torch,
            numpy: ref.numpy,
            statsmodels: ref.statsmodels ?? 'missing (scipy beta.ppf)',
            torchBlas: ref.blas,
            torchMkldnn: String(ref.mkldnn),
          }
        : {}),
    },
    settings: {
      lib: o.lib,
      threads: o.threads,
      batch: o.batch,
      batches: o.batches,
      rawSizes: o.rawSizes,
      refBatches: o.refBatches,
      alpha: o.alpha,
      seed: o.seed,
      n0: o.n0,
      n: o.n,
      inputs: o.inputs,
      rawSeconds: o.rawSeconds,
      refN: o.refN,
      refInputs: o.refInputs,
      configs: o.configs.map((c) => c.name),
      refConfigs: o.python ? o.refConfigs.map((c) => c.name) : [],
      sessionOptions: {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all',
        intraOpNumThreads: o.threads,
      },
    },
    models,
    skipped,
  };
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, await formatJson(result, o.out));
  printTables(result);
  log(`wrote ${relative(process.cwd(), o.out)}`);
  if (o.doc) {
    writeReport(result, relative(ROOT, o.out), o.doc);
    log(`wrote ${relative(process.cwd(), o.doc)}`);
  }
}

/** JSON as the repository's prettier (`npm run lint` checks every file) would write it. */
async function formatJson(value: unknown, path: string): Promise<string> {
  const text = JSON.stringify(value, null, 2) + '\n';
  try {
    const prettier = await import('prettier');
    const config = (await prettier.resolveConfig(path)) ?? {};
    return await prettier.format(text, { ...config, filepath: path });
  } catch {
    return text; // prettier is a dev dependency
  }
}

/** Writes the light model with PyTorch (bench/light_model.py) unless it is there; false if it cannot. */
function lightModel(o: Options): boolean {
  if (existsSync(join(LIGHT_MODEL_DIR, 'model.onnx'))) return true;
  const python = o.python ?? '/usr/bin/python3';
  log(`writing the light model to ${LIGHT_MODEL_DIR} (${python} bench/light_model.py)`);
  const res = spawnSync(python, [join(ROOT, 'bench', 'light_model.py'), LIGHT_MODEL_DIR], {
    stdio: 'inherit',
  });
  return res.status === 0 && existsSync(join(LIGHT_MODEL_DIR, 'model.onnx'));
}

/** The CIFAR-10 JPEG archive of the shared data sets, extracted once to the temporary folder. */
function extractCifar(): string | null {
  const archive = join(ROOT, '..', 'shared', 'datasets', 'cifar10-jpeg.tar.gz');
  const dest = join(tmpdir(), 'cifar10-jpeg');
  if (existsSync(join(dest, 'test'))) return join(dest, 'test');
  if (!existsSync(archive)) return null;
  log(`extracting ${archive} to ${dest}`);
  mkdirSync(dest, { recursive: true });
  const ok = spawnSync('tar', ['xzf', archive, '-C', dest], { stdio: 'inherit' }).status === 0;
  return ok && existsSync(join(dest, 'test')) ? join(dest, 'test') : null;
}

main().catch((e: unknown) => {
  const err = e instanceof Error ? e : new Error(String(e));
  console.error(`bench: ${err.message.split('\n')[0]} (npm run bench -- --help)`);
  if (process.env.SMOOTH_REDUCE_DEBUG) console.error(err.stack);
  process.exitCode = 1;
});
