/**
 * The models a worker has loaded, found by path or by content: a job names its model by the path
 * the producer was given and by its identity (the .onnx sha256, its external data and its card's
 * hash). The worker looks at that path (relative to its own working directory) and then under its
 * `--models` folders for an `.onnx` file with that hash, and refuses a model whose identity differs
 * (another file, other external data, another card): a worker never certifies with another model
 * than the run's.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import { type Device, OnnxClassifier } from '../models/onnx-classifier.js';
import { canonicalJson } from '../io/json.js';
import { identityDifference, modelFile } from '../models/model-identity.js';

export interface ModelRef {
  path: string;
  sha256: string;
  /** external data files (relative to the model's folder) and their sha256 */
  externalData: { path: string; sha256: string }[];
  /** sha256 of the card's computation fields, null without a card */
  cardSha256: string | null;
  /** explicit model card path (the producer's --card), else model.json beside the model */
  card: string | null;
}

export interface ModelCacheOptions {
  device: Device;
  threads?: number;
  /** folders searched (two levels deep) for an .onnx file with the wanted hash */
  search: string[];
  /** sessions kept open at once (the least recently used is released) */
  capacity?: number;
}

const short = (sha: string) => sha.slice(0, 12);

/** What the cache keys a model by: its whole identity, not its path. */
const keyOf = (ref: ModelRef) =>
  canonicalJson({ sha256: ref.sha256, externalData: ref.externalData, card: ref.cardSha256 });

function onnxFilesUnder(dir: string, depth = 2): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isFile() && e.name.endsWith('.onnx')) out.push(p);
    else if (e.isDirectory() && depth > 1) out.push(...onnxFilesUnder(p, depth - 1));
  }
  return out;
}

export class ModelCache {
  private readonly loaded = new Map<string, Promise<OnnxClassifier>>();
  /** file hashes by absolute path, valid while size and mtime stay the same */
  private readonly hashes = new Map<string, { size: number; mtimeMs: number; sha256: string }>();

  constructor(private readonly options: ModelCacheOptions) {}

  /** The classifier for `ref`, loading it on first use; a UsageError when no file has its hash. */
  get(ref: ModelRef): Promise<OnnxClassifier> {
    const key = keyOf(ref);
    let model = this.loaded.get(key);
    if (model) {
      // most recently used last
      this.loaded.delete(key);
      this.loaded.set(key, model);
      return model;
    }
    model = this.load(ref);
    this.loaded.set(key, model);
    model.catch(() => this.loaded.delete(key));
    void this.evict();
    return model;
  }

  private async evict(): Promise<void> {
    const capacity = this.options.capacity ?? 2;
    while (this.loaded.size > capacity) {
      const [sha, oldest] = this.loaded.entries().next().value as [string, Promise<OnnxClassifier>];
      this.loaded.delete(sha);
      await oldest.then((c) => c.dispose()).catch(() => {});
    }
  }

  private hashOf(path: string): string {
    const abs = resolve(path);
    const st = statSync(abs);
    const known = this.hashes.get(abs);
    if (known && known.size === st.size && known.mtimeMs === st.mtimeMs) return known.sha256;
    const sha256 = createHash('sha256').update(readFileSync(abs)).digest('hex');
    this.hashes.set(abs, { size: st.size, mtimeMs: st.mtimeMs, sha256 });
    return sha256;
  }

  private async load(ref: ModelRef): Promise<OnnxClassifier> {
    const named = modelFile(ref.path);
    let problem: string;
    try {
      const sha = this.hashOf(named);
      if (sha === ref.sha256) {
        const opened = await this.open(named, ref.card ?? undefined, ref);
        if (typeof opened !== 'string') return opened;
        problem = opened;
      } else
        problem = `${named} has sha256 ${short(sha)}..., not the run's ${short(ref.sha256)}... (another file at the same path?)`;
    } catch (e) {
      if (e instanceof UsageError) throw e;
      problem = `cannot read model ${named} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
    }
    for (const dir of this.options.search) {
      for (const file of onnxFilesUnder(dir)) {
        if (resolve(file) === resolve(named)) continue;
        try {
          if (this.hashOf(file) !== ref.sha256) continue;
          const opened = await this.open(file, undefined, ref);
          if (typeof opened !== 'string') return opened;
          problem += `; ${opened}`;
        } catch (e) {
          if (e instanceof UsageError) throw e;
        }
      }
    }
    const searched = this.options.search.length
      ? ` and no .onnx file under ${this.options.search.join(', ')} has sha256 ${short(ref.sha256)}...`
      : '; pass --models <folder> to find it by content';
    throw new UsageError(`${problem}${searched}`);
  }

  /** The model at `file` when its whole identity is the run's, else why not (one line). */
  private async open(
    file: string,
    card: string | undefined,
    ref: ModelRef,
  ): Promise<OnnxClassifier | string> {
    const classifier = await OnnxClassifier.load(file, {
      card,
      device: this.options.device,
      threads: this.options.threads,
    });
    // the file may have changed between hashing and loading; its card and external data must match
    const diff = identityDifference(classifier.identity, ref);
    if (diff) {
      await classifier.dispose();
      return `${file}: ${diff}`;
    }
    return classifier;
  }

  async dispose(): Promise<void> {
    const all = [...this.loaded.values()];
    this.loaded.clear();
    await Promise.all(all.map((m) => m.then((c) => c.dispose()).catch(() => {})));
  }
}
