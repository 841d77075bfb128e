/** `npm run bench` options: the --help text and its parser. */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CONFIGS,
  type ConfigSpec,
  type LibrarySource,
  MODELS,
  type ModelSpec,
  ROOT,
  configByName,
  modelByKey,
} from './common.js';

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

export interface Options {
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

export function parseOptions(argv: string[]): Options | null {
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
