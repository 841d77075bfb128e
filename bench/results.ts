/**
 * The benchmark's result file (bench/results/*.json) and its tables, shared by bench/main.ts (stdout)
 * and bench/report.ts (docs/performance.md).
 */
import type { MachineInfo, ProfileSummary } from './common.js';

export const RESULT_FORMAT = 'smooth-reduce-bench';
export const RESULT_VERSION = 1;

/** certify throughput / raw ONNX Runtime throughput that the library should reach */
export const TARGET_RATIO = 0.9;
/** Python reference time / library time that the library should reach */
export const TARGET_SPEEDUP = 5;

export interface RawResult {
  /** model inputs per session.run */
  batchInputs: number;
  runs: number;
  seconds: number;
  forwardsPerSec: number;
}

export interface CertifyInputResult {
  index: number;
  label: number;
  prediction: number;
  radius: number;
  radiusSmoothing: number;
  pALower: number;
  nA: number;
  seconds: number;
}

export interface CertifyResult {
  config: string;
  k: number;
  /** --batch: noisy samples per step */
  batch: number;
  /** model inputs per call, as the library measured it */
  callInputs: number;
  n0: number;
  n: number;
  inputs: number;
  seconds: number;
  /** inputs * (n0 + n) * k / seconds */
  forwardsPerSec: number;
  /** the best raw ORT forward passes/s over the call sizes measured */
  rawForwardsPerSec: number;
  ratio: number;
  /**
   * median over the inputs of certify's forward passes/s over raw ORT's at the same call size,
   * measured right after each certification (robust to a machine whose speed drifts); null in
   * results written before it existed
   */
  pairedRatio?: number | null;
  /** the library's own time per forward pass: the same certifications on a model that costs nothing */
  overheadMicrosPerForward: number;
  /** 1 / (1 + overhead * raw): the ratio if nothing but the library's own time were added to ORT's */
  expectedRatio: number;
  secondsPerCertificate: number;
  results: CertifyInputResult[];
}

export interface ReferenceConfigResult {
  config: string;
  k: number;
  nodeSeconds: number;
  pythonSeconds: number;
  /** of pythonSeconds: inside the model calls (patch model: unfold + base model + reduce) */
  pythonModelSeconds: number;
  /** Python time / library time */
  speedup: number;
  identicalPredictions: number;
  /** mean |radius_library - radius_python| over the inputs, input space */
  meanAbsRadiusDiff: number;
  /** the same in the smoothing space (no operator-norm bound involved) */
  meanAbsRadiusSmoothingDiff: number;
  node: CertifyInputResult[];
  /** the same fields as the library's, without the label */
  python: Omit<CertifyInputResult, 'label'>[];
}

export interface ReferenceResult {
  n0: number;
  n: number;
  inputs: number;
  python: {
    python: string;
    torch: string;
    numpy: string;
    statsmodels: string | null;
    threads: number;
    mkldnn: boolean;
    blas: string;
    resizeNorm: number;
    logitsCheck?: { inputs: number; maxAbsDiff: number; maxAbsLogit: number; sameArgmax: number };
    resizeCheck?: { inputs: number; maxAbsDiff: number };
  };
  /** the library's noiseScale (certified upper bound on ||R||_2) for the patch configurations */
  libraryNoiseScale: number | null;
  nodeSeconds: number;
  pythonSeconds: number;
  speedup: number;
  configs: ReferenceConfigResult[];
}

export interface ReferenceBatchResult {
  batch: number;
  /** raw ORT at `batch` inputs per call */
  ortRawForwardsPerSec: number;
  /** PyTorch's forward passes per second inside the model calls of its certification */
  pytorchModelForwardsPerSec: number;
  libraryForwardsPerSec: number;
  pythonForwardsPerSec: number;
}

export interface MemoryResult {
  config: string;
  k: number;
  n: number;
  batch: number;
  callInputs: number;
  maxRssAfterLoadMiB: number;
  maxRssMiB: number;
  seconds: number;
  secondsPerMillionForwards: number;
}

export interface ProfileResult {
  config: string;
  k: number;
  n: number;
  seconds: number;
  profileFile: string | null;
  summary: ProfileSummary;
}

export interface ModelResult {
  key: string;
  model: string;
  data: string;
  shape: number[];
  sigma: number;
  resize: number[];
  raw: RawResult[];
  certify: CertifyResult[];
  reference: ReferenceResult | null;
  referenceSkipped?: string;
  /** RS against PyTorch at several batch sizes */
  referenceBatches: ReferenceBatchResult[];
  memory: MemoryResult[];
  profile: ProfileResult[];
}

export interface BenchResult {
  format: typeof RESULT_FORMAT;
  version: typeof RESULT_VERSION;
  mode: string;
  command: string;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  machine: MachineInfo & {
    /** other processes' share of all CPU time while the bench slept 1 s, at start and end */
    backgroundCpuStart: number | null;
    backgroundCpuEnd: number | null;
    loadavgEnd: number[];
  };
  versions: Record<string, string>;
  settings: {
    lib: string;
    threads: number;
    batch: number;
    batches: number[];
    rawSizes: number[];
    refBatches: number[];
    alpha: number;
    seed: number;
    n0: number;
    n: number;
    inputs: number;
    rawSeconds: number;
    refN: number;
    refInputs: number;
    configs: string[];
    refConfigs: string[];
    sessionOptions: Record<string, unknown>;
  };
  models: ModelResult[];
  skipped: string[];
}

// -------------------------------------------------------------------------------------------- tables

type Align = 'l' | 'r';

/** A Markdown table with padded columns (readable as plain text too). */
export function table(headers: string[], rows: (string | number)[][], align?: Align[]): string {
  const cells = rows.map((r) => r.map(String));
  const a = align ?? headers.map((_, i) => (i === 0 ? 'l' : 'r'));
  const width = headers.map((h, i) => Math.max(h.length, 3, ...cells.map((r) => r[i]?.length ?? 0)));
  const pad = (s: string, i: number) => (a[i] === 'l' ? s.padEnd(width[i]) : s.padStart(width[i]));
  const line = (r: string[]) => `| ${r.map(pad).join(' | ')} |`;
  const rule = `|${width.map((w, i) => (a[i] === 'l' ? ` :${'-'.repeat(w - 1)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`;
  return [line(headers), rule, ...cells.map(line)].join('\n');
}

export const fmt = {
  int: (x: number) => Math.round(x).toLocaleString('en-US'),
  num: (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : String(x)),
  pct: (x: number, d = 1) => `${(100 * x).toFixed(d)}%`,
  mib: (x: number) => `${x.toFixed(0)} MiB`,
  s: (x: number) => (x >= 100 ? `${x.toFixed(0)} s` : x >= 10 ? `${x.toFixed(1)} s` : `${x.toFixed(2)} s`),
  ok: (good: boolean) => (good ? 'yes' : '**no**'),
};

const label = (config: string) =>
  ({
    rs: 'RS',
    max9: 'Smooth-Max 9',
    mean9: 'Smooth-Mean 9',
    max25: 'Smooth-Max 25',
    mean25: 'Smooth-Mean 25',
  })[config] ?? config;

export function rawTable(m: ModelResult): string {
  const best = Math.max(...m.raw.map((r) => r.forwardsPerSec));
  return table(
    ['model inputs per run', 'runs', 'seconds', 'forward passes/s', 'of the best'],
    m.raw.map((r) => [
      fmt.int(r.batchInputs),
      r.runs,
      fmt.num(r.seconds, 1),
      fmt.int(r.forwardsPerSec),
      fmt.num(r.forwardsPerSec / best, 3),
    ]),
  );
}

export function referenceBatchTable(m: ModelResult): string {
  return table(
    [
      '--batch',
      'raw ORT fwd/s',
      'PyTorch model fwd/s',
      'ceiling (ORT / PyTorch raw)',
      'library fwd/s',
      'PyTorch certify fwd/s',
      'end-to-end speed-up',
      'of the ceiling',
    ],
    m.referenceBatches.map((b) => {
      const ceiling = b.ortRawForwardsPerSec / b.pytorchModelForwardsPerSec;
      const e2e = b.libraryForwardsPerSec / b.pythonForwardsPerSec;
      return [
        b.batch,
        fmt.int(b.ortRawForwardsPerSec),
        fmt.int(b.pytorchModelForwardsPerSec),
        fmt.num(ceiling, 2) + 'x',
        fmt.int(b.libraryForwardsPerSec),
        fmt.int(b.pythonForwardsPerSec),
        fmt.num(e2e, 2) + 'x',
        fmt.num(e2e / ceiling, 2),
      ];
    }),
  );
}

export function certifyTable(m: ModelResult): string {
  return table(
    [
      'configuration',
      'k',
      '--batch',
      'call inputs',
      'inputs',
      'n0 + n',
      'forward passes',
      'seconds',
      's / certificate',
      'forward passes/s',
      'best raw ORT /s',
      'ratio',
      `>= ${TARGET_RATIO}`,
      'paired ratio',
      'library us / forward',
      'expected ratio',
    ],
    m.certify.map((c) => [
      label(c.config),
      c.k,
      c.batch,
      fmt.int(c.callInputs),
      c.inputs,
      fmt.int(c.n0 + c.n),
      fmt.int(c.inputs * (c.n0 + c.n) * c.k),
      fmt.num(c.seconds, 1),
      fmt.num(c.secondsPerCertificate, 2),
      fmt.int(c.forwardsPerSec),
      fmt.int(c.rawForwardsPerSec),
      fmt.num(c.ratio, 3),
      fmt.ok(c.ratio >= TARGET_RATIO),
      c.pairedRatio == null ? '-' : fmt.num(c.pairedRatio, 3),
      fmt.num(c.overheadMicrosPerForward, 2),
      fmt.num(c.expectedRatio, 3),
    ]),
  );
}

export function referenceTable(m: ModelResult): string {
  const r = m.reference;
  if (!r) return `(skipped: ${m.referenceSkipped ?? 'not run'})`;
  const forwards = (k: number) => r.inputs * (r.n0 + r.n) * k;
  const rows = r.configs.map((c) => [
    label(c.config),
    c.k,
    fmt.num(c.nodeSeconds, 2),
    fmt.num(c.pythonSeconds, 2),
    fmt.int(forwards(c.k) / c.nodeSeconds),
    fmt.int(forwards(c.k) / c.pythonModelSeconds),
    fmt.pct(c.pythonModelSeconds / c.pythonSeconds, 0),
    fmt.num(c.speedup, 1) + 'x',
    `${c.identicalPredictions}/${c.node.length}`,
    fmt.num(c.meanAbsRadiusDiff, 4),
    fmt.num(c.meanAbsRadiusSmoothingDiff, 4),
    fmt.ok(c.speedup >= TARGET_SPEEDUP),
  ]);
  rows.push([
    '**all**',
    '',
    fmt.num(r.nodeSeconds, 2),
    fmt.num(r.pythonSeconds, 2),
    '',
    '',
    fmt.pct(r.configs.reduce((a, c) => a + c.pythonModelSeconds, 0) / r.pythonSeconds, 0),
    fmt.num(r.speedup, 1) + 'x',
    `${r.configs.reduce((a, c) => a + c.identicalPredictions, 0)}/${r.configs.reduce((a, c) => a + c.node.length, 0)}`,
    '',
    '',
    fmt.ok(r.speedup >= TARGET_SPEEDUP),
  ]);
  return table(
    [
      'configuration',
      'k',
      'library s',
      'PyTorch s',
      'library fwd/s',
      'PyTorch model fwd/s',
      'PyTorch in model',
      'speed-up',
      'same prediction',
      'mean |dR| input',
      'mean |dR| smoothing',
      `>= ${TARGET_SPEEDUP}x`,
    ],
    rows,
  );
}

export function referenceDetailTable(m: ModelResult): string {
  const r = m.reference;
  if (!r) return '';
  const rows: (string | number)[][] = [];
  for (const c of r.configs) {
    c.node.forEach((a, i) => {
      const b = c.python[i];
      rows.push([
        label(c.config),
        a.index,
        a.label,
        a.prediction,
        b.prediction,
        fmt.num(a.radius, 3),
        fmt.num(b.radius, 3),
        fmt.num(a.pALower, 4),
        fmt.num(b.pALower, 4),
      ]);
    });
  }
  return table(
    [
      'configuration',
      'index',
      'label',
      'class (lib)',
      'class (py)',
      'R (lib)',
      'R (py)',
      'pA (lib)',
      'pA (py)',
    ],
    rows,
  );
}

export function memoryTable(m: ModelResult): string {
  return table(
    [
      'configuration',
      'n',
      '--batch',
      'call inputs',
      'peak RSS after load',
      'peak RSS',
      'seconds',
      's per 10^6 forward passes',
    ],
    m.memory.map((x) => [
      label(x.config),
      fmt.int(x.n),
      x.batch ?? '-',
      x.callInputs ? fmt.int(x.callInputs) : '-',
      fmt.mib(x.maxRssAfterLoadMiB),
      fmt.mib(x.maxRssMiB),
      fmt.num(x.seconds, 1),
      fmt.num(x.secondsPerMillionForwards, 1),
    ]),
  );
}

export function profileTable(m: ModelResult): string {
  const groups = ['ort', 'gather', 'noise', 'vote', 'sampler', 'gc', 'ort-js', 'idle', 'program', 'other'];
  return table(
    ['configuration', 'n', 'profiled s', ...groups.map((g) => (g === 'ort' ? 'session.run' : g))],
    m.profile.map((p) => [
      label(p.config),
      fmt.int(p.n),
      fmt.num(p.seconds, 2),
      ...groups.map((g) => fmt.pct(p.summary.groups[g]?.share ?? 0)),
    ]),
  );
}

export function hotFunctionsTable(p: ProfileResult, top = 8): string {
  return table(
    ['function (outside session.run)', 'where', 'self ms', 'share of wall time'],
    p.summary.top.slice(0, top).map((e) => [e.function, e.where, fmt.num(e.selfMs, 0), fmt.pct(e.share)]),
    ['l', 'l', 'r', 'r'],
  );
}

export { label as configLabel };
