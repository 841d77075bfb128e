/**
 * One measurement in a fresh process, started by bench/child-runs.ts:
 *
 *   node --import tsx bench/child.ts memory  '<json spec>'   peak RSS of one certification
 *   node --import tsx bench/child.ts profile '<json spec>'   V8 CPU profile of one certification
 *
 * Prints one JSON line on stdout.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import {
  type CpuProfile,
  type LibrarySource,
  configByName,
  loadLibrary,
  modelByKey,
  modelDir,
  smoothingOptions,
  summarizeProfile,
} from './common.js';

export interface ChildSpec {
  lib: LibrarySource;
  model: string;
  config: string;
  data: string;
  index: number;
  threads: number;
  n0: number;
  n: number;
  alpha: number;
  batch: number;
  seed: number;
  /** profile: where to write the .cpuprofile (optional) */
  profileOut?: string;
  /** profile: sampling interval in microseconds */
  samplingUs?: number;
}

const kib = () => process.resourceUsage().maxRSS; // kilobytes

async function main(): Promise<void> {
  const [mode, json] = process.argv.slice(2);
  if ((mode !== 'memory' && mode !== 'profile') || !json) {
    throw new Error("usage: child.ts memory|profile '<json spec>'");
  }
  const spec = JSON.parse(json) as ChildSpec;
  const lib = await loadLibrary(spec.lib);
  const model = modelByKey(spec.model);
  const config = configByName(spec.config);
  const classifier = await lib.onnx.OnnxClassifier.load(modelDir(model), { threads: spec.threads });
  const data = lib.data.openDataset(spec.data);
  const input = await data.get(spec.index);
  const g = new lib.smoothed.SmoothedClassifier(
    classifier,
    data.shape,
    smoothingOptions(lib, model, config, spec),
  );
  const maxRssAfterLoadKiB = kib();

  if (mode === 'memory') {
    const t0 = performance.now();
    const r = await g.certify({ pixels: input.pixels, index: input.index });
    const seconds = (performance.now() - t0) / 1000;
    const mem = process.memoryUsage();
    out({
      callInputs: g.callSize.inputs,
      maxRssAfterLoadKiB,
      maxRssKiB: kib(),
      rssEndKiB: Math.round(mem.rss / 1024),
      heapUsedEndKiB: Math.round(mem.heapUsed / 1024),
      externalEndKiB: Math.round(mem.external / 1024),
      arrayBuffersEndKiB: Math.round(mem.arrayBuffers / 1024),
      seconds,
      prediction: r.prediction,
      radius: r.radius,
    });
  } else {
    // warm up (ORT allocations for both batch sizes, JIT), then profile only the certification
    await new lib.smoothed.SmoothedClassifier(
      classifier,
      data.shape,
      smoothingOptions(lib, model, config, { ...spec, n: Math.min(spec.n, 2 * spec.batch) }),
    ).certify({ pixels: input.pixels, index: input.index });
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: spec.samplingUs ?? 500 });
    await session.post('Profiler.start');
    const t0 = performance.now();
    await g.certify({ pixels: input.pixels, index: input.index });
    const seconds = (performance.now() - t0) / 1000;
    const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
    session.disconnect();
    if (spec.profileOut) writeFileSync(spec.profileOut, JSON.stringify(profile));
    out({ seconds, profileFile: spec.profileOut ?? null, summary: summarizeProfile(profile) });
  }
  await classifier.dispose();
}

function out(o: object): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}

main().catch((e) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exitCode = 1;
});
