#!/usr/bin/env node
/** The smooth-reduce command line. */
import { Command, InvalidArgumentError } from 'commander';
import { UsageError } from '../core/errors.js';
import { openDataset } from '../data/open.js';
import { type Device, OnnxClassifier } from '../models/onnx-classifier.js';
import { packageVersion } from '../package-root.js';
import type { Method, NoiseMode } from '../reduce/reducer.js';
import type { AggregateOver } from '../reduce/aggregate.js';
import type { ResizeMode } from '../reduce/resize.js';
import { type RunObserver, runCertification } from '../run/certify-run.js';
import { parseShard } from '../run/selection.js';
import { defaultSmoothingOptions } from '../smoothed-classifier.js';
import { register as registerAnalyze } from './analyze.js';
import { register as registerCompare } from './compare.js';
import { register as registerPlot } from './plot.js';

const num = (v: string) => {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new InvalidArgumentError('not a number');
  return x;
};
const oneOf =
  <T extends string>(...values: T[]) =>
  (v: string): T => {
    if (!values.includes(v as T)) throw new InvalidArgumentError(`expected one of ${values.join(', ')}`);
    return v as T;
  };
const size = (v: string) => {
  const m = /^(\d+)(?:x(\d+))?$/.exec(v);
  if (!m) throw new InvalidArgumentError('expected N or HxW');
  return { height: Number(m[1]), width: Number(m[2] ?? m[1]) };
};

interface RunFlags {
  model: string;
  card?: string;
  data: string;
  labels?: string;
  sigma: number;
  method: Method;
  resize?: { height: number; width: number };
  resizeMode: ResizeMode;
  stride: number;
  maxPatches?: number;
  randomPatches: boolean;
  noise: NoiseMode;
  aggregate: AggregateOver;
  n0: number;
  n: number;
  alpha: number;
  batch: number;
  seed: number;
  skip: number;
  max: number;
  shard?: string;
  out: string;
  device: Device;
  threads?: number;
  quiet: boolean;
  json: boolean;
}

function addRunOptions(cmd: Command): Command {
  const d = defaultSmoothingOptions;
  return cmd
    .requiredOption('--model <path>', 'ONNX model (model.json model card beside it)')
    .option('--card <path>', 'model card, if not model.json beside the model')
    .requiredOption(
      '--data <path>',
      'data set: IDX images file or folder, CIFAR binary, or folder of class folders',
    )
    .option('--labels <path>', 'IDX labels file (default: derived from the images file name)')
    .option('--sigma <s>', 'noise level, in the pixel scale of the data (e.g. [0, 1])', num, d.sigma)
    .option(
      '--method <m>',
      'rs (plain randomized smoothing) | max (Smooth-Max) | mean (Smooth-Mean)',
      oneOf('rs', 'max', 'mean'),
      d.method,
    )
    .option(
      '--resize <N|HxW>',
      'Smooth-Reduce: resize the input to this size (default: input size + 4)',
      size,
    )
    .option('--resize-mode <m>', 'bilinear | nearest', oneOf('bilinear', 'nearest'), d.resizeMode)
    .option('--stride <t>', 'Smooth-Reduce: patch stride', num, d.stride)
    .option(
      '--max-patches <k>',
      'Smooth-Reduce: at most k patches (with --random-patches: k random ones)',
      num,
    )
    .option('--random-patches', 'Smooth-Reduce: random patch positions (seeded per input)', false)
    .option(
      '--noise <mode>',
      'correlated (on the resized image) | uncorrelated (per patch) | input (before resizing)',
      oneOf('correlated', 'uncorrelated', 'input'),
      d.noise,
    )
    .option('--aggregate <over>', 'reduce over logits | softmax', oneOf('logits', 'softmax'), d.aggregate)
    .option('--n0 <n>', 'selection samples', num, d.n0)
    .option('--n <n>', 'estimation samples', num, d.n)
    .option('--alpha <a>', 'failure probability', num, d.alpha)
    .option('--batch <b>', 'noisy samples per model call', num, d.batch)
    .option('--seed <s>', 'run seed', num, d.seed)
    .option('--skip <k>', 'certify every k-th input', num, 1)
    .option('--max <i>', 'only inputs with index below i (-1: all)', num, -1)
    .option('--shard <i/n>', 'certify every n-th selected input from offset i')
    .requiredOption('--out <log.tsv>', 'log file (resumed if it exists)')
    .option('--device <d>', 'cpu | cuda', oneOf('cpu', 'cuda'), 'cpu')
    .option('--threads <t>', 'ONNX Runtime intra-op threads', num)
    .option('--quiet', 'no progress output', false)
    .option('--json', 'progress as JSON lines on stdout', false);
}

function observer(flags: RunFlags): RunObserver {
  let last = 0;
  let certified = 0;
  let total = 0;
  const say = (s: string) => (flags.json ? undefined : !flags.quiet && console.error(s));
  return {
    start(t, done, m) {
      total = t;
      if (flags.json)
        console.log(JSON.stringify({ event: 'start', total: t, resumed: done, label: m.label }));
      say(
        `${m.label}: ${t} inputs (${done} already in ${flags.out}); radii in input space, smoothing space: ${m.smoothingSpace}`,
      );
    },
    input(e, done) {
      if (e.correct && e.prediction >= 0) certified++;
      if (flags.json) console.log(JSON.stringify({ event: 'input', done, total, ...e }));
      else if (!flags.quiet && (Date.now() - last > 2000 || done === total)) {
        last = Date.now();
        say(
          `[${done}/${total}] idx ${e.idx}: predict ${e.prediction} label ${e.label} radius ${e.radius.toFixed(3)} (${e.seconds.toFixed(2)} s); correct so far ${certified}`,
        );
      }
    },
    finish(s) {
      if (flags.json) console.log(JSON.stringify({ event: 'finish', ...s }));
      say(
        `done: ${s.total} inputs, ${s.correct} correct, ${s.abstained} abstained (this session), ${s.seconds.toFixed(1)} s; log ${flags.out}`,
      );
    },
  };
}

async function run(command: 'certify' | 'predict', flags: RunFlags): Promise<void> {
  const dataset = openDataset(flags.data, { labels: flags.labels });
  const classifier = await OnnxClassifier.load(flags.model, {
    card: flags.card,
    device: flags.device,
    threads: flags.threads,
  });
  try {
    await runCertification(
      {
        command,
        classifier,
        dataset,
        dataSpec: flags.data,
        options: { ...flags, resize: flags.resize },
        selection: { skip: flags.skip, max: flags.max, shard: flags.shard ? parseShard(flags.shard) : null },
        out: flags.out,
        device: flags.device,
        threads: flags.threads ?? null,
      },
      observer(flags),
    );
  } finally {
    await classifier.dispose();
  }
}

export function buildProgram(): Command {
  const program = new Command('smooth-reduce')
    .version(packageVersion)
    .description('Certified L2 robustness of ONNX classifiers: randomized smoothing and Smooth-Reduce');
  addRunOptions(
    program.command('certify').description('CERTIFY every selected input; writes a Cohen-style TSV log'),
  ).action((flags: RunFlags) => run('certify', flags));
  addRunOptions(
    program.command('predict').description('PREDICT (binomial test) every selected input'),
  ).action((flags: RunFlags) => run('predict', flags));
  registerAnalyze(program);
  registerPlot(program);
  registerCompare(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (e) {
    const err = e as Error;
    console.error(`smooth-reduce: ${err instanceof UsageError ? err.message : err.message.split('\n')[0]}`);
    if (process.env.SMOOTH_REDUCE_DEBUG) console.error(err.stack);
    return err instanceof UsageError ? 2 : 1;
  }
}

main(process.argv).then((code) => {
  process.exitCode = code;
});
