/**
 * The smooth-reduce command line: `buildProgram()` and `main()`. Importing this module has no side
 * effects; `src/cli/main.ts` is the executable that calls `main(process.argv)`.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { UsageError } from '../core/errors.js';
import { formatDown } from '../core/round.js';
import { formatShape } from '../core/shape.js';
import { type Dataset, UNLABELLED } from '../data/dataset.js';
import { openDataset, openImageFiles, readerOptions } from '../data/open.js';
import type { DataTransform } from '../io/manifest.js';
import { type Device, OnnxClassifier } from '../models/onnx-classifier.js';
import { DenoisedClassifier } from '../models/denoiser.js';
import { OnnxDenoiser, readDenoiserCard } from '../models/onnx-denoiser.js';
import { DEFAULT_SIGMA, chooseSigma } from '../models/sigma.js';
import { packageVersion } from '../package-root.js';
import { RunInterrupted, type RunRequest, runCertification } from '../run/certify-run.js';
import { parseRedisUrl } from '../queue/connection.js';
import { runOnQueue } from '../queue/collector.js';
import { parseShard } from '../run/selection.js';
import { OptionsError } from '../core/params.js';
import { type SmoothingOptions, defaultSmoothingOptions, parseSmoothingOptions } from '../options.js';
import { register as registerAnalyze } from './analyze.js';
import { type CompanionSpec, parseCompanionSpec } from './companion-spec.js';
import { register as registerCompare } from './compare.js';
import { register as registerMerge } from './merge.js';
import { register as registerPlot } from './plot.js';
import { register as registerQueue } from './queue.js';
import { type ProgressDisplay, createProgress, progressMode } from './progress.js';
import { type OutputStreams, defaultStreams } from './streams.js';
import { register as registerServe } from './serve.js';
import { register as registerVerify } from './verify.js';
import { readKey } from '../verify/attest.js';
import { signRun } from '../verify/verify.js';

const num = (v: string) => {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new InvalidArgumentError('not a number');
  return x;
};
const pixels = (v: string) => {
  const x = Number(v);
  if (!/^\d+$/.test(v.trim()) || !(x > 0))
    throw new InvalidArgumentError('expected a whole number of pixels > 0');
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
const channelCount = (v: string): 1 | 3 => {
  if (v !== '1' && v !== '3') throw new InvalidArgumentError('expected 1 or 3');
  return Number(v) as 1 | 3;
};

/** The options of `certify` and `predict`, as commander parses them. */
export interface RunFlags extends Omit<
  SmoothingOptions,
  'adaptiveRadius' | 'sampleLoss' | 'callMemory' | 'sigma'
> {
  /** absent: the model card's training sigma, else 0.25 (chooseSigma) */
  sigma?: number;
  model: string;
  card?: string;
  denoiser?: string;
  /** one data set, or image files */
  data: string[];
  /** image files: their classes (names or indices) */
  label: string[];
  labels?: string;
  dataResize?: number;
  centerCrop?: number;
  channels?: 1 | 3;
  frames?: number;
  fps?: number;
  size?: number;
  padFrames: boolean;
  split?: string;
  adaptiveRadius?: number;
  sampleLoss?: number;
  /** MiB */
  callMemory: number;
  skip: number;
  max: number;
  shard?: string;
  queue?: string;
  chunk: number;
  attempts: number;
  out: string;
  device: Device;
  threads?: number;
  quiet: boolean;
  json: boolean;
  /** certify only */
  also?: CompanionSpec[];
  /** certify only: Ed25519 private key to attest the finished run with */
  sign?: string;
}

function addRunOptions(cmd: Command): Command {
  const d = defaultSmoothingOptions;
  return cmd
    .requiredOption('--model <path>', 'ONNX model (model.json model card beside it)')
    .option('--card <path>', 'model card, if not model.json beside the model')
    .option(
      '--denoiser <path>',
      'denoised smoothing: an ONNX denoiser (folder with model.onnx + denoiser card) run on every noisy sample before the model',
    )
    .requiredOption(
      '--data <path...>',
      'data set: IDX images file or folder, CIFAR binary, or folder of class folders; or JPEG/PNG image files (one or more)',
    )
    .option(
      '--label <class>',
      'image files: the true class, a name from the model card or an index (once for all files, or once per file; default: no label)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('--labels <path>', 'IDX labels file (default: derived from the images file name)')
    .option(
      '--data-resize <N>',
      'image folders: scale each image so its shorter side is N pixels (torchvision Resize(N)), before --center-crop',
      pixels,
    )
    .option(
      '--center-crop <N>',
      'image folders: cut the central N x N square (torchvision CenterCrop(N)), after --data-resize',
      pixels,
    )
    .option(
      '--channels <1|3>',
      'convert the images to 1 channel (luma, as PIL) or 3 (gray repeated) to match the model (default: as stored)',
      channelCount,
    )
    .option('--frames <T>', 'video: frames per clip (default: the model card clipFrames)', pixels)
    .option('--fps <f>', 'video: resample the clips to this frame rate (default: the model card fps)', num)
    .option(
      '--size <S>',
      'video: scale the shorter side to S, then cut the central S x S (default: the model input)',
      pixels,
    )
    .option(
      '--pad-frames',
      'video: pad a clip shorter than --frames by repeating its last frame (default: skip it)',
      false,
    )
    .option('--split <file>', 'video: the UCF-101 split list to read beside classInd.txt (testlist01.txt)')
    .option('--window <L>', 'video: frames per window (a check: the model input frames)', pixels)
    .option('--window-stride <s>', 'video: window stride in frames (default: the window length)', num)
    .option('--max-windows <k>', 'video: at most k windows, spread evenly', num)
    .option(
      '--window-offset <o>',
      'video, --method rs: start frame of the one window (default: the centred window)',
      num,
    )
    .option(
      '--sigma <s>',
      `noise level, in the pixel scale of the data (e.g. [0, 1]) (default: the model card's training sigma, else ${DEFAULT_SIGMA})`,
      num,
    )
    .option(
      '--method <m>',
      'rs (plain randomized smoothing) | max (Smooth-Max) | mean (Smooth-Mean)',
      oneOf('rs', 'max', 'mean'),
      d.method,
    )
    .option(
      '--resize <N|HxW>',
      'Smooth-Reduce: resize the input to this size before cutting patches (default: input size + 4)',
      size,
    )
    .option('--resize-mode <m>', 'bilinear | nearest', oneOf('bilinear', 'nearest'), d.resizeMode)
    .option(
      '--pad <P>',
      'Smooth-Reduce, translations instead of --resize: cut the patches from the input zero-padded by P pixels on each side (norm 1: the canvas radius is the input-space radius)',
      num,
    )
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
    .option(
      '--batch <b>',
      'noisy samples drawn per step (the model call size is measured, within --call-memory)',
      num,
      d.batch,
    )
    .option(
      '--call-memory <MiB>',
      "memory one model call may use, the model's working memory included: bounds the call size",
      num,
      256,
    )
    .option('--seed <s>', 'run seed', num, d.seed)
    .option('--skip <k>', 'certify every k-th input', num, 1)
    .option('--max <i>', 'only inputs with index below i (-1: all)', num, -1)
    .option(
      '--shard <i/n>',
      'certify every n-th selected input from offset i (one process per shard; join the logs with merge)',
    )
    .option(
      '--queue <redis-url>',
      'spread the run over the workers of this Redis queue (smooth-reduce worker) and collect their results here',
    )
    .option('--chunk <k>', 'with --queue: inputs per job', num, 1)
    .option('--attempts <k>', 'with --queue: attempts per job before it is reported as failed', num, 3)
    .requiredOption('--out <log.tsv>', 'log file (resumed if it exists)')
    .option('--device <d>', 'cpu | cuda', oneOf('cpu', 'cuda'), 'cpu')
    .option('--threads <t>', 'ONNX Runtime intra-op threads', num)
    .option('--quiet', 'print nothing but errors', false)
    .option(
      '--json',
      'machine-readable progress on stdout: JSON lines, events start, input (one per input), finish',
      false,
    );
}

/**
 * The smoothing options a command line asks for, checked (an OptionsError names the options);
 * `sigma` is the one chooseSigma picked (default: --sigma, else 0.25).
 */
export function smoothingOptions(flags: RunFlags, sigma = flags.sigma ?? DEFAULT_SIGMA): SmoothingOptions {
  return parseSmoothingOptions({
    method: flags.method,
    sigma,
    resize: flags.resize,
    resizeMode: flags.resizeMode,
    pad: flags.pad,
    stride: flags.stride,
    maxPatches: flags.maxPatches,
    randomPatches: flags.randomPatches,
    noise: flags.noise,
    aggregate: flags.aggregate,
    window: flags.window,
    windowStride: flags.windowStride,
    maxWindows: flags.maxWindows,
    windowOffset: flags.windowOffset,
    n0: flags.n0,
    n: flags.n,
    alpha: flags.alpha,
    batch: flags.batch,
    seed: flags.seed,
    adaptiveRadius: flags.adaptiveRadius ?? null,
    looks: flags.looks ?? defaultSmoothingOptions.looks,
    sampleLoss: flags.sampleLoss ?? null,
    callMemory: flags.callMemory * 2 ** 20,
  });
}

/** The flag of an option: `maxPatches` -> `--max-patches` (`resize.height` -> `--resize`). */
export function flagName(key: string): string {
  return `--${key.split('.')[0].replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Options that only Smooth-Reduce reads: given with --method rs they would be silently ignored. */
const REDUCE_ONLY = [
  'resize',
  'resizeMode',
  'pad',
  'stride',
  'maxPatches',
  'randomPatches',
  'noise',
  'aggregate',
];

async function run(
  command: 'certify' | 'predict',
  flags: RunFlags,
  streams: OutputStreams,
  cmd: Command,
): Promise<void> {
  // checked before the model loads (bad options fail fast); sigma is settled once the card is read
  smoothingOptions(flags);
  if (flags.method === 'rs') {
    const given = REDUCE_ONLY.find((name) => cmd.getOptionValueSource(name) === 'cli');
    if (given)
      throw new UsageError(
        `${flagName(given)} applies to Smooth-Reduce only (--method max|mean), not to --method rs`,
      );
  }
  const files = imageFiles(flags.data);
  if (files === null && flags.label.length > 0)
    throw new UsageError('--label applies to image files (--data x.png ...); a data set carries its labels');
  if (files !== null && flags.queue !== undefined)
    throw new UsageError('--queue takes a data set; certify image files without it');
  const selection = { skip: flags.skip, max: flags.max, shard: flags.shard ? parseShard(flags.shard) : null };
  if (flags.queue !== undefined) {
    parseRedisUrl(flags.queue);
    if (flags.shard)
      throw new UsageError('--shard and --queue do not mix: the queue spreads the run already');
    for (const [name, v] of [
      ['--chunk', flags.chunk],
      ['--attempts', flags.attempts],
    ] as const)
      if (!Number.isInteger(v) || v < 1) throw new UsageError(`${name} must be a positive integer, got ${v}`);
  }
  // a bad key stops the run before any sampling, not after it
  if (flags.sign !== undefined) readKey(flags.sign, 'private');
  if (flags.sign !== undefined && flags.data.length > 1)
    throw new UsageError('--sign signs a run over one data set, not over a list of image files');
  const classifier = await OnnxClassifier.load(flags.model, {
    card: flags.card,
    // with --queue the model only checks the options here: the workers run it
    device: flags.queue !== undefined ? 'cpu' : flags.device,
    threads: flags.queue !== undefined ? 1 : flags.threads,
  });
  // the denoiser's card first: a direct denoiser's training sigma is the run's default sigma
  const denoiserCard = flags.denoiser === undefined ? null : readDenoiserCard(flags.denoiser);
  const sigma = chooseSigma(flags.sigma, classifier.card, denoiserCard);
  const options = smoothingOptions(flags, sigma.sigma);
  const denoiser = await loadDenoiser(flags, options, classifier, streams).catch(async (e: unknown) => {
    await classifier.dispose();
    throw e;
  });
  const smoothed = denoiser ? new DenoisedClassifier(denoiser, classifier) : classifier;
  const { transform, dataset } = openData(flags, classifier, files);
  const unlabelled = files !== null && flags.label.length === 0;
  const mode = progressMode(flags, streams.stderr);
  // where sigma came from: on the run's first line (--json: in the start event), a warning before it
  const display = createProgress({
    mode,
    out: flags.out,
    streams,
    unlabelled,
    sigma: { note: sigma.note, source: sigma.source, warning: sigma.warning },
  });
  // image files: one line per file on stdout, with the card's class name and the radius
  const progress =
    files !== null && mode !== 'json' && mode !== 'quiet'
      ? withResultLines(display, command, files, classifier.card.classes, streams)
      : display;
  try {
    // video class folders are labelled by position: another class count mislabels every clip
    if (dataset.shape.frames !== undefined && dataset.classes?.length !== classifier.numClasses) {
      throw new UsageError(
        `${flags.data.join(' ')} has ${dataset.classes?.length ?? 0} classes but the model has ${classifier.numClasses} (${classifier.card.classes.join(', ')})`,
      );
    }
    const data = dataset.shape.channels;
    const model = classifier.inputShape.channels;
    if (
      data !== model &&
      flags.channels === undefined &&
      (data === 1 || data === 3) &&
      (model === 1 || model === 3)
    ) {
      throw new UsageError(
        `the data has ${data} channel(s) but the model takes ${model}; pass --channels ${model} to convert the images`,
      );
    }
    const request: RunRequest = {
      command,
      classifier: smoothed,
      model: classifier,
      ...(denoiser ? { denoiser } : {}),
      dataset,
      dataSpec: flags.data.join(' '),
      dataTransform: transform,
      options,
      companions: flags.also ?? [],
      selection,
      out: flags.out,
      device: flags.device,
      threads: flags.threads ?? null,
    };
    if (flags.queue === undefined) {
      await interruptible(streams, (signal) => runCertification({ ...request, signal }, progress));
    } else {
      const quiet = flags.quiet;
      await runOnQueue(
        request,
        {
          url: flags.queue,
          chunk: flags.chunk,
          attempts: flags.attempts,
          card: flags.card ?? null,
          labels: flags.labels ?? null,
          notice: (line) => {
            if (!quiet) streams.stderr.write(`smooth-reduce: ${line}\n`);
          },
        },
        progress,
      );
    }
    if (flags.sign !== undefined) {
      const { model, card, denoiser, labels } = flags;
      const data = flags.data[0];
      const signed = await signRun({ log: flags.out, key: flags.sign, model, card, denoiser, data, labels });
      if (!flags.quiet) streams.stderr.write(`smooth-reduce: signed ${flags.out}: ${signed.path}\n`);
    }
  } finally {
    progress.close();
    await smoothed.dispose();
  }
}

/**
 * The denoiser of `--denoiser` (null without one), checked against the classifier, with a warning
 * line for the mismatches that are allowed but usually unintended: a classifier trained without
 * noise certified without a denoiser, or a direct denoiser trained for another sigma.
 */
async function loadDenoiser(
  flags: RunFlags,
  options: SmoothingOptions,
  classifier: OnnxClassifier,
  streams: OutputStreams,
): Promise<OnnxDenoiser | null> {
  const warn = (line: string) => {
    if (!flags.quiet) streams.stderr.write(`smooth-reduce: warning: ${line}\n`);
  };
  if (flags.denoiser === undefined) {
    if (classifier.card.training?.sigma === 0)
      warn(
        `${classifier.card.name} was trained without noise (card training.sigma 0): under noise it is close to chance and its smoothed classifier certifies little; put a denoiser in front (--denoiser)`,
      );
    return null;
  }
  // with --queue the denoiser only checks the options here: the workers run it
  const queued = flags.queue !== undefined;
  const denoiser = await OnnxDenoiser.load(flags.denoiser, {
    sigma: options.sigma,
    device: queued ? 'cpu' : flags.device,
    threads: queued ? 1 : flags.threads,
  });
  const trained = denoiser.card.sigma;
  if (denoiser.card.kind === 'direct' && trained !== undefined && trained !== options.sigma)
    warn(
      `the denoiser ${denoiser.name} was trained for sigma ${trained}, this run uses sigma ${options.sigma}`,
    );
  return denoiser;
}

/**
 * Runs `body` with SIGINT and SIGTERM turned into a stop after the current input (the log stays
 * whole and resumes); a second signal stops at once, which loses only the input in progress.
 */
async function interruptible<T>(
  streams: OutputStreams,
  body: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const handler = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(EXIT_CODES[signal]);
    streams.stderr.write(
      `smooth-reduce: ${signal}: stopping after the current input (again to stop at once); rerun the same command to resume\n`,
    );
    controller.abort(signal);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  try {
    return await body(controller.signal);
  } finally {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  }
}

/** Exit codes of a run stopped by a signal: 128 + its number, as a shell reports it. */
const EXIT_CODES: Partial<Record<NodeJS.Signals, number>> & Record<'SIGINT' | 'SIGTERM', number> = {
  SIGINT: 130,
  SIGTERM: 143,
};

const VIDEO_FLAGS = [
  'frames',
  'fps',
  'size',
  'split',
  'window',
  'windowStride',
  'maxWindows',
  'windowOffset',
] as const;

/** The data set, read as the model needs it: images, or clips for a video model (5-D input). */
/** The --data paths when they are image files (one or more), else null (one data set). */
function imageFiles(paths: string[]): string[] | null {
  if (paths.length === 1 && !IMAGE_FILE.test(paths[0])) return null;
  const other = paths.find((p) => !IMAGE_FILE.test(p));
  if (other !== undefined)
    throw new UsageError(`--data ${other}: several --data paths must all be JPEG or PNG image files`);
  return paths;
}
const IMAGE_FILE = /\.(jpe?g|png)$/i;

/** --label values as class indices: one for every file, or one per file; none: -1 (no label). */
export function resolveLabels(labels: string[], files: number, classes: readonly string[]): number[] {
  if (labels.length === 0) return Array.from({ length: files }, () => UNLABELLED);
  if (labels.length !== 1 && labels.length !== files)
    throw new UsageError(`--label: give one for all ${files} files or one per file, not ${labels.length}`);
  const indices = labels.map((l) => {
    const byName = classes.findIndex((c) => c.toLowerCase() === l.trim().toLowerCase());
    if (byName >= 0) return byName;
    const k = Number(l);
    if (/^\d+$/.test(l.trim()) && k < classes.length) return k;
    throw new UsageError(
      `--label ${l}: not a class of the model (${classes.map((c, i) => `${i} ${c}`).join(', ')})`,
    );
  });
  return labels.length === 1 ? Array.from({ length: files }, () => indices[0]) : indices;
}

/** Adds one stdout line per certified image file: class name (model card) and radius. */
function withResultLines(
  display: ProgressDisplay,
  command: 'certify' | 'predict',
  files: string[],
  classes: readonly string[],
  streams: OutputStreams,
): ProgressDisplay {
  return {
    ...display,
    input(e, done) {
      display.input(e, done);
      const name = (k: number) => `${classes[k] ?? k} (class ${k})`;
      const what =
        e.prediction < 0
          ? command === 'certify'
            ? 'abstained (no class certified)'
            : 'abstained (no class significant)'
          : command === 'certify'
            ? `${name(e.prediction)}, certified radius ${formatDown(e.radius)} (L2, input space)`
            : `${name(e.prediction)}, p-value ${e.pValue?.toPrecision(3)}`;
      const truth =
        e.label === UNLABELLED ? '' : `; label ${name(e.label)}: ${e.correct ? 'correct' : 'wrong'}`;
      streams.stdout.write(`${files[e.idx]}: ${what}${truth}\n`);
    },
  };
}

function openData(
  flags: RunFlags,
  classifier: OnnxClassifier,
  files: string[] | null,
): { transform: DataTransform; dataset: Dataset } {
  const model = classifier.inputShape;
  if (model.frames === undefined) {
    const videoFlag =
      VIDEO_FLAGS.find((k) => flags[k] !== undefined) ?? (flags.padFrames ? 'padFrames' : undefined);
    if (videoFlag) {
      const option = `--${videoFlag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      throw new UsageError(
        `${option} is for video models, but ${classifier.path} takes N x ${formatShape(model)} images (a video model's input is 5-D: N x C x T x H x W)`,
      );
    }
    const transform: DataTransform = {
      resize: flags.dataResize,
      centerCrop: flags.centerCrop,
      channels: flags.channels,
    };
    const opened = readerOptions(transform, flags.labels, {
      path: classifier.path,
      channels: model.channels,
    });
    if (files !== null) {
      const labels = resolveLabels(flags.label, files.length, classifier.card.classes);
      return { transform, dataset: openImageFiles(files, labels, opened) };
    }
    return { transform, dataset: openDataset(flags.data[0], opened) };
  }
  const imageFlag = (['dataResize', 'centerCrop', 'channels', 'labels'] as const).find(
    (k) => flags[k] !== undefined,
  );
  if (imageFlag)
    throw new UsageError(
      `--${imageFlag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is for image data; video models read clips (--frames, --fps, --size)`,
    );
  const input = classifier.card.input;
  const frames = flags.frames ?? input.clipFrames;
  const fps = flags.fps ?? input.fps;
  if (frames === undefined)
    throw new UsageError(`--frames is needed: the model card of ${classifier.path} names no clipFrames`);
  if (fps === undefined)
    throw new UsageError(`--fps is needed: the model card of ${classifier.path} names no fps`);
  const transform: DataTransform = {
    frames,
    fps,
    size: flags.size ?? model.height,
    padFrames: flags.padFrames,
    split: flags.split,
  };
  const opened = readerOptions(transform, undefined, { path: classifier.path, channels: model.channels });
  if (files !== null)
    throw new UsageError(`${classifier.path} is a video model: --data takes a folder of clips`);
  return { transform, dataset: openDataset(flags.data[0], opened) };
}

/**
 * The whole command line. `streams` receive every command's output and commander's help and errors.
 */
export function buildProgram(streams: OutputStreams = defaultStreams): Command {
  const program = new Command('smooth-reduce')
    .version(packageVersion)
    .description('Certified L2 robustness of ONNX classifiers: randomized smoothing and Smooth-Reduce')
    // before the subcommands are added: they inherit these settings
    .exitOverride()
    .configureOutput({
      writeOut: (s) => streams.stdout.write(s),
      writeErr: (s) => streams.stderr.write(s),
      // one line: "smooth-reduce: ...", as for every other error
      outputError: (s, write) => {
        const line = s
          .trim()
          .replace(/^error: /, '')
          .replace(/\s*\n+\s*/g, ' ');
        write(`smooth-reduce: ${line.replace('(Did you mean', '(did you mean')}\n`);
      },
    });
  addRunOptions(
    program.command('certify').description('CERTIFY every selected input; writes a Cohen-style TSV log'),
  )
    .option(
      '--adaptive-radius <r>',
      'adaptive certification: stop sampling once the certificate at this L2 radius (input space) is decided',
      num,
    )
    .option(
      '--looks <k>',
      'adaptive certification: looks at n/2^(k-1), ..., n samples, each at alpha/k',
      num,
      5,
    )
    .option(
      '--sample-loss <f>',
      "input-specific sample size: draw only as many of the n samples as keep the expected radius within this fraction of n's",
      num,
    )
    .option(
      '--also <spec>',
      'Smooth-Reduce: also certify another reduction of the same patch (or window) outputs, from the same model calls, into its own log: out=LOG[,method=max|mean][,aggregate=logits|softmax][,stride=S][,max-patches=K] (video: [,window-stride=S][,max-windows=K]) (repeatable; a subset of the patches or windows only)',
      parseCompanionSpec,
      [],
    )
    .option(
      '--sign <private.pem>',
      'when the run is finished, check it and write <out>.intoto.json, an attestation signed with this Ed25519 key (smooth-reduce keygen; docs/attestation.md)',
    )
    .action((flags: RunFlags, cmd: Command) => run('certify', flags, streams, cmd));
  addRunOptions(
    program.command('predict').description('PREDICT (binomial test) every selected input'),
  ).action((flags: RunFlags, cmd: Command) => run('predict', flags, streams, cmd));
  registerMerge(program, streams);
  registerAnalyze(program, streams);
  registerPlot(program, streams);
  registerCompare(program, streams);
  registerQueue(program, streams);
  registerServe(program, streams);
  registerVerify(program, streams);
  return program;
}

/**
 * A repeated `--data` overrides the earlier ones, as any other option does (one `--data` may list
 * several image files: `--data x.png y.png`); commander would join them instead.
 */
export function lastDataFlag(argv: string[]): string[] {
  const at = argv.flatMap((a, i) => (a === '--data' || a.startsWith('--data=') ? [i] : []));
  if (at.length < 2) return argv;
  const drop = new Set<number>();
  for (const i of at.slice(0, -1)) {
    drop.add(i);
    if (argv[i] !== '--data') continue;
    for (let j = i + 1; j < argv.length && !argv[j].startsWith('-'); j++) drop.add(j);
  }
  return argv.filter((_, i) => !drop.has(i));
}

/**
 * Runs the command line `argv` (process.argv style: node, script, args...) and returns the exit
 * code: 0 done, 2 usage error (bad option, file or model; one line on stderr), 1 anything else.
 */
export async function main(argv: string[], streams: OutputStreams = defaultStreams): Promise<number> {
  try {
    await buildProgram(streams).parseAsync(lastDataFlag(argv));
    return 0;
  } catch (e) {
    // commander has printed its message (or the help / version) already
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof RunInterrupted) {
      streams.stderr.write(
        `smooth-reduce: ${e.signal}: stopped after ${e.done} of ${e.total} inputs; the log is complete so far, rerun the same command to resume\n`,
      );
      return EXIT_CODES[e.signal];
    }
    const err = e instanceof Error ? e : new Error(String(e));
    const message =
      err instanceof OptionsError
        ? err.describe(flagName)
        : err instanceof UsageError
          ? err.message
          : (err.message.split('\n')[0] ?? String(e));
    streams.stderr.write(`smooth-reduce: ${message}\n`);
    if (process.env.SMOOTH_REDUCE_DEBUG) streams.stderr.write(`${err.stack}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}
