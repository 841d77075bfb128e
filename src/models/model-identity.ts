/**
 * What a model is, for manifests, resume, merge and the queue: everything that decides its outputs.
 * An ONNX model is its `.onnx` graph, the external data files the graph names (large weights kept
 * beside it, resolved relative to the model's folder and confined to it) and its model card (input
 * layout, pixel range, normalisation applied before the graph, classes). Two runs are of the same
 * model only when all three agree; a card that changes normalisation changes every certificate.
 *
 * `modelIdentity(pathOrFolder)` applies to any model folder (a classifier, a denoiser).
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { UsageError } from '../core/errors.js';
import { canonicalJson, sha256Hex } from '../io/json.js';
import { type ModelCard, readModelCard } from './model-card.js';

export interface ModelIdentity {
  /** the .onnx file (a folder stands for the model.onnx in it) */
  path: string;
  /** sha256 of the .onnx file */
  sha256: string;
  /** the external data files the graph names: path relative to the model's folder, sha256; sorted */
  externalData: { path: string; sha256: string }[];
  /** the card in effect: sha256 of its canonical computation fields (cardSha256); null without a card */
  cardSha256: string | null;
}

/** A model folder means the model.onnx inside it. */
export function modelFile(path: string): string {
  return existsSync(path) && statSync(path).isDirectory() ? join(path, 'model.onnx') : path;
}

/** The card that goes with `onnx`: the explicit one, else model.json beside it, else none. */
export function cardFile(onnx: string, card?: string): string | null {
  const path = card ?? join(dirname(onnx), 'model.json');
  return existsSync(path) ? path : null;
}

export function sha256Of(bytes: Uint8Array): string {
  return sha256Hex(bytes);
}

/**
 * The identity of the model at `path` (an .onnx file or a folder holding model.onnx), with its card
 * (`card`, else model.json beside it). Unreadable files, external data outside the model's folder
 * and invalid cards are one-line UsageErrors.
 */
export function modelIdentity(path: string, options: { card?: string } = {}): ModelIdentity {
  const onnx = modelFile(path);
  if (!existsSync(onnx)) throw new UsageError(`no such model: ${onnx}`);
  const bytes = readBytes(onnx);
  const card = cardFile(onnx, options.card);
  return identify(onnx, bytes, card ? readModelCard(card) : null);
}

/** The identity of a model whose bytes and card are already read (OnnxClassifier.load). */
export function identify(onnx: string, bytes: Uint8Array, card: ModelCard | null): ModelIdentity {
  return {
    path: onnx,
    sha256: sha256Of(bytes),
    externalData: externalDataFiles(onnx, bytes).map((f) => ({
      path: f.location,
      sha256: sha256Of(readBytes(f.file)),
    })),
    cardSha256: card ? cardSha256(card) : null,
  };
}

/**
 * sha256 of the card fields that decide the computation and the meaning of a class index (input
 * layout, shape, pixel range, channel order, normalisation, frames; class names), as canonical
 * JSON; name, training and metrics only document the model.
 */
export function cardSha256(card: ModelCard): string {
  return sha256Of(Buffer.from(canonicalJson({ input: card.input, classes: card.classes })));
}

/**
 * The external data files of an ONNX model: each `location` a tensor names, resolved against the
 * model's folder, which it must stay in (after following links). Sorted, each once.
 */
export function externalDataFiles(onnx: string, bytes: Uint8Array): { location: string; file: string }[] {
  const folder = dirname(resolve(onnx));
  const locations = new Set<string>();
  try {
    collectModel(new Reader(bytes), locations);
  } catch (e) {
    throw new UsageError(`cannot load ONNX model ${onnx}: not a valid ONNX file (${(e as Error).message})`);
  }
  const realFolder = realpathSync(folder);
  const inside = (root: string, p: string) => {
    const r = relative(root, p);
    return r !== '' && !r.startsWith(`..${sep}`) && r !== '..' && !isAbsolute(r);
  };
  return [...locations].sort().map((location) => {
    const file = resolve(folder, location);
    if (isAbsolute(location) || !inside(folder, file)) {
      throw new UsageError(
        `${onnx}: external data "${location}" lies outside the model's folder ${folder}; keep it beside the model`,
      );
    }
    if (!existsSync(file)) throw new UsageError(`${onnx}: its external data file ${file} is missing`);
    if (!inside(realFolder, realpathSync(file))) {
      throw new UsageError(
        `${onnx}: external data "${location}" links outside the model's folder ${folder}; keep it beside the model`,
      );
    }
    return { location, file };
  });
}

/** The files a model is made of (the .onnx, its external data, its card), with size and mtime. */
export function fileStamps(identity: ModelIdentity, card: string | null): string {
  const files = [
    identity.path,
    ...identity.externalData.map((f) => join(dirname(identity.path), f.path)),
    ...(card ? [card] : []),
  ];
  return files
    .map((f) => {
      const st = statSync(f);
      return `${f}:${st.size}:${st.mtimeMs}`;
    })
    .join('\n');
}

/**
 * How two identities differ, in words ("the model card differs (sha256 1a2b3c4d5e6f... here,
 * 9f8e7d6c5b4a... in the run)"), or null when they are the same model.
 */
export function identityDifference(
  here: Omit<ModelIdentity, 'path'>,
  run: Omit<ModelIdentity, 'path'>,
): string | null {
  const short = (s: string | null) => (s === null ? 'none' : `${s.slice(0, 12)}...`);
  if (here.sha256 !== run.sha256)
    return `the .onnx file differs (sha256 ${short(here.sha256)} here, ${short(run.sha256)} in the run)`;
  if (here.cardSha256 !== run.cardSha256)
    return `the model card differs (sha256 ${short(here.cardSha256)} here, ${short(run.cardSha256)} in the run)`;
  const a = JSON.stringify(here.externalData);
  const b = JSON.stringify(run.externalData);
  if (a !== b) {
    const names = (x: ModelIdentity['externalData']) =>
      x.map((f) => `${f.path} ${short(f.sha256)}`).join(', ') || 'none';
    return `the external data differs (${names(here.externalData)} here, ${names(run.externalData)} in the run)`;
  }
  return null;
}

function readBytes(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

// --- a minimal protobuf walk over the ONNX messages that can hold tensors -------------------------

class Reader {
  pos = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly end = buf.length,
    start = 0,
  ) {
    this.pos = start;
  }
  get done(): boolean {
    return this.pos >= this.end;
  }
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let k = 0; k < 10; k++) {
      if (this.pos >= this.end) throw new Error('truncated protobuf');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw new Error('bad varint');
  }
  /** the next field: its number and wire type; length-delimited fields also get a sub-reader */
  field(): { no: number; type: number; sub?: Reader } {
    const key = this.varint();
    const no = Math.floor(key / 8);
    const type = key & 7;
    if (type === 0) this.varint();
    else if (type === 1) this.skip(8);
    else if (type === 5) this.skip(4);
    else if (type === 2) {
      const len = this.varint();
      const start = this.pos;
      this.skip(len);
      return { no, type, sub: new Reader(this.buf, start + len, start) };
    } else throw new Error(`unsupported protobuf wire type ${type}`);
    return { no, type };
  }
  string(): string {
    return Buffer.from(this.buf.subarray(this.pos, this.end)).toString('utf8');
  }
  private skip(n: number): void {
    if (this.pos + n > this.end) throw new Error('truncated protobuf');
    this.pos += n;
  }
}

/** Calls `f` for every length-delimited field of the message in `r`. */
function eachMessage(r: Reader, f: (no: number, sub: Reader) => void): void {
  while (!r.done) {
    const { no, sub } = r.field();
    if (sub) f(no, sub);
  }
}

// field numbers from onnx.proto (IR version 10)
function collectModel(r: Reader, out: Set<string>): void {
  // ModelProto: graph = 7, functions = 25
  eachMessage(r, (no, sub) => {
    if (no === 7) collectGraph(sub, out);
    else if (no === 25) eachMessage(sub, (n, s) => n === 7 && collectNode(s, out)); // FunctionProto.node
  });
}

function collectGraph(r: Reader, out: Set<string>): void {
  // GraphProto: node = 1, initializer = 5, sparse_initializer = 15
  eachMessage(r, (no, sub) => {
    if (no === 1) collectNode(sub, out);
    else if (no === 5) collectTensor(sub, out);
    else if (no === 15) collectSparse(sub, out);
  });
}

function collectNode(r: Reader, out: Set<string>): void {
  // NodeProto: attribute = 5; AttributeProto: t = 5, g = 6, tensors = 10, graphs = 11,
  // sparse_tensor = 22, sparse_tensors = 23
  eachMessage(r, (no, attribute) => {
    if (no !== 5) return;
    eachMessage(attribute, (n, s) => {
      if (n === 5 || n === 10) collectTensor(s, out);
      else if (n === 6 || n === 11) collectGraph(s, out);
      else if (n === 22 || n === 23) collectSparse(s, out);
    });
  });
}

function collectSparse(r: Reader, out: Set<string>): void {
  // SparseTensorProto: values = 1, indices = 2
  eachMessage(r, (no, sub) => (no === 1 || no === 2) && collectTensor(sub, out));
}

function collectTensor(r: Reader, out: Set<string>): void {
  // TensorProto: external_data = 13 (StringStringEntryProto: key = 1, value = 2)
  eachMessage(r, (no, entry) => {
    if (no !== 13) return;
    let key = '';
    let value = '';
    eachMessage(entry, (n, s) => {
      if (n === 1) key = s.string();
      else if (n === 2) value = s.string();
    });
    if (key === 'location') out.add(value);
  });
}
