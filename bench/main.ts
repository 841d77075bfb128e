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
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import ort from 'onnxruntime-node';
import {
  type Library,
  type ModelSpec,
  ROOT,
  backgroundCpu,
  configByName,
  dataPath,
  loadLibrary,
  log,
  machineInfo,
  modelDir,
  LIGHT_MODEL_DIR,
  packageVersion,
  spreadIndices,
  t0,
} from './common.js';
import { NullClassifier, certifyInputs, reference } from './certify.js';
import { memory, profiles } from './child-runs.js';
import { type Options, parseOptions } from './options.js';
import { rawThroughput } from './raw.js';
import {
  type BenchResult,
  type CertifyResult,
  type ModelResult,
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
        const certifyWith = (base: Parameters<typeof certifyInputs>[2], pairRaw: boolean) =>
          certifyInputs(lib, o, base, data.shape, model, c, inputs, o.n0, o.n, batch, pairRaw);
        const r = await certifyWith(classifier, true);
        const forwards = inputs.length * (o.n0 + o.n) * c.k;
        const fps = forwards / r.seconds;
        // the same certifications on a model that costs nothing: the library's own time per forward pass
        const free = await certifyWith(new NullClassifier(classifier), false);
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
          pairedRatio: r.pairedRatio,
          overheadMicrosPerForward: overhead * 1e6,
          expectedRatio: 1 / (1 + overhead * raw),
          secondsPerCertificate: r.seconds / inputs.length,
          results: r.results,
        };
        result.certify.push(cr);
        log(
          `${model.key} certify ${c.name} --batch ${batch}: ${Math.round(fps)} forward passes/s in calls of ${r.callInputs} inputs, ` +
            `ratio ${cr.ratio.toFixed(3)} to the best raw ORT, ${cr.pairedRatio?.toFixed(3)} to raw ORT paired at that call size ` +
            `(library overhead ${(overhead * 1e6).toFixed(2)} us per forward pass: ` +
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
