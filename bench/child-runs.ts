/** Bench phases 4 and 5: peak memory and CPU profiles, one child process (bench/child.ts) per run. */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { ChildSpec } from './child.js';
import { type ModelSpec, ROOT, configByName, lastJsonLine, log, round, runChild } from './common.js';
import type { Options } from './options.js';
import type { MemoryResult, ProfileResult } from './results.js';

function childArgs(mode: 'memory' | 'profile', spec: ChildSpec): string[] {
  return ['--import', 'tsx', join(ROOT, 'bench', 'child.ts'), mode, JSON.stringify(spec)];
}

export async function memory(
  o: Options,
  model: ModelSpec,
  data: string,
  index: number,
): Promise<MemoryResult[]> {
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

export async function profiles(
  o: Options,
  model: ModelSpec,
  data: string,
  index: number,
): Promise<ProfileResult[]> {
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
