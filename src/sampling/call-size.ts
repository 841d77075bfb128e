/**
 * How many noisy samples go into one model call, chosen for the model and the machine.
 *
 * Raw throughput against call size differs between models: a heavy network gains a few percent up
 * to thousands of inputs per call, a light one is fastest around a few hundred and several times
 * slower at thousands (its activations fall out of the caches), and memory grows linearly with the
 * call size everywhere (ONNX Runtime's arena holds the activations of the largest call). So the
 * call size is measured, not taken from `--batch`. The first calls climb a ladder of sizes: one
 * noisy sample, doubling. Below `floorInputs` model inputs a rung is one untimed call (small calls
 * are never the fastest, and timings on a busy machine are too noisy to say otherwise); from there
 * on each rung is timed over `callsPerRung` calls. The climb stops when the throughput falls, when
 * the cap `maxInputs` is reached, or when the next rung's memory, projected from what the calls so
 * far have added to the process, would exceed `memoryBudget`. The call size then stays at the
 * smallest timed rung within `tolerance` of the best throughput seen.
 *
 * A noisy sample of many model inputs (more than `partFrom`: 1,089 patches of a 64 x 64 image,
 * say) may not fit the budget whole. Its inputs are then split over several calls (the sampler
 * reduces the outputs as they come): the climb starts at one input per call and doubles up to
 * one whole sample while the projected memory fits, and settles on parts when it does not, so no
 * call is larger than the measured memory allows.
 * When even one model input is measured to need more than the budget, the sizer refuses
 * (CallMemoryError) with the memory it would need. Every call of the ladder
 * does real work (its votes count), and votes do not depend on how samples are grouped into
 * calls, so tuning changes no certificate.
 */
import { UsageError } from '../core/errors.js';

export interface CallSizeOptions {
  /** model inputs per noisy sample (patches, sub-clips) */
  copies: number;
  /** bytes that one call may use: the classifier's working memory plus the sampler's buffers */
  memoryBudget: number;
  /** hard cap on model inputs per call */
  maxInputs: number;
  /** model inputs from which rungs are timed (default 256); smaller rungs only probe memory */
  floorInputs?: number;
  /** bytes the sampler itself holds per model input (its call buffers) */
  ownBytesPerInput: number;
  /** the process's memory in use, in bytes (e.g. resident set size); without it only ownBytesPerInput counts */
  memoryInUse?: () => number;
  /** a rung within this fraction of the best throughput is good enough (default 0.03) */
  tolerance?: number;
  /** timed full calls per rung (default 2: the first call at a new size also grows ORT's arena) */
  callsPerRung?: number;
  /** a sample of more model inputs than this is measured in parts first, from one input (default 64) */
  partFrom?: number;
}

/** The budget cannot hold one model input (or the sampler's own buffers): says what it would need. */
export class CallMemoryError extends UsageError {
  override name = 'CallMemoryError';
  constructor(
    readonly budget: number,
    readonly needed: number,
  ) {
    const mib = (b: number) => (b / 2 ** 20).toFixed(1);
    super(
      `--call-memory ${mib(budget)} MiB cannot hold one model call: one model input needs about ${mib(needed)} MiB; raise --call-memory to at least ${Math.ceil(needed / 2 ** 20)}`,
    );
  }
}

interface Rung {
  samples: number;
  rate: number;
  timed: number;
}

export class CallSizer {
  private readonly rungs: Rung[] = [];
  private current = 0;
  private settled: number | null = null;
  private baseline: number | null = null;
  /** bytes per model input, measured (or the sampler's own, without memoryInUse) */
  private bytesPerInput: number;
  private readonly maxSamples: number;
  private largestCall = 0;

  /** model inputs per call while a sample is split over calls; null once calls hold whole samples */
  private part: number | null = null;
  private partSettled = false;

  constructor(private readonly o: CallSizeOptions) {
    this.bytesPerInput = o.ownBytesPerInput;
    if (o.ownBytesPerInput > o.memoryBudget) throw new CallMemoryError(o.memoryBudget, o.ownBytesPerInput);
    const fit = Math.floor(Math.min(o.maxInputs, o.memoryBudget / o.ownBytesPerInput));
    this.maxSamples = Math.max(1, Math.floor(fit / o.copies));
    if (o.copies > (o.partFrom ?? 64) || o.copies > fit) this.part = 1;
    this.rungs.push({ samples: 1, rate: 0, timed: 0 });
  }

  /** Noisy samples in the next full call (1 while samples are split: see inputsPerCall). */
  get samples(): number {
    if (this.part !== null) return 1;
    return this.settled ?? this.rungs[this.current].samples;
  }

  /** Model inputs per call when one sample's inputs are split over several calls, else null. */
  get inputsPerCall(): number | null {
    return this.part;
  }

  /** True once the ladder is climbed and the call size fixed. */
  get isSettled(): boolean {
    return this.settled !== null;
  }

  /** Largest call size, in noisy samples, that this sizer may still ask for. */
  get largestSamples(): number {
    if (this.part !== null && this.partSettled) return 1;
    return this.settled ?? this.maxSamples;
  }

  /** Bytes per model input the budget is computed with (measured once calls have run). */
  get measuredBytesPerInput(): number {
    return this.bytesPerInput;
  }

  /** Call before the first call is made: the memory the calls' growth is measured from. */
  start(): void {
    if (this.baseline === null && this.o.memoryInUse) this.baseline = this.o.memoryInUse();
  }

  /**
   * Reports a call of `samples` noisy samples that took `seconds` (dispatch to result). Only
   * calls of the current rung's full size are timed; others (the tail of a request) only count
   * towards memory.
   */
  record(samples: number, seconds: number): void {
    this.recordInputs(samples * this.o.copies);
    if (this.settled !== null || this.part !== null) return;
    const rung = this.rungs[this.current];
    if (samples !== rung.samples) return;
    const timed = rung.samples * this.o.copies >= (this.o.floorInputs ?? 256);
    if (timed) {
      if (!(seconds > 0)) return;
      rung.rate = Math.max(rung.rate, samples / seconds);
      rung.timed++;
      if (rung.timed < (this.o.callsPerRung ?? 2)) return;
    }
    const tolerance = this.o.tolerance ?? 0.03;
    const best = Math.max(...this.rungs.map((r) => r.rate));
    const next = Math.min(this.maxSamples, rung.samples * 2);
    const projected = next * this.o.copies * this.bytesPerInput;
    const falling = timed && rung.rate < (1 - 2 * tolerance) * best;
    if (falling || next === rung.samples || projected > this.o.memoryBudget) {
      const good = this.rungs.find((r) => r.timed > 0 && r.rate >= (1 - tolerance) * best);
      this.settled = good?.samples ?? rung.samples;
      return;
    }
    this.rungs.push({ samples: next, rate: 0, timed: 0 });
    this.current++;
  }

  /** Reports a call of `inputs` model inputs (part of one sample); sizes the parts. */
  recordPart(inputs: number): void {
    this.recordInputs(inputs);
    const part = this.part;
    if (part === null || this.partSettled || inputs !== part) return;
    const fit = Math.floor(this.o.memoryBudget / this.bytesPerInput);
    if (fit < 1) throw new CallMemoryError(this.o.memoryBudget, this.bytesPerInput);
    if (fit < part) {
      this.part = fit;
      this.partSettled = true;
      return;
    }
    const next = Math.min(this.o.copies, part * 2, Math.floor(this.o.maxInputs));
    if (next === part || next * this.bytesPerInput > this.o.memoryBudget) {
      this.partSettled = true;
      return;
    }
    // a whole sample fits: from here on the ladder climbs in whole samples
    this.part = next >= this.o.copies ? null : next;
  }

  private recordInputs(inputs: number): void {
    // the memory grown since start() serves the largest call so far (ORT keeps its arena)
    this.largestCall = Math.max(this.largestCall, inputs);
    if (this.o.memoryInUse && this.baseline !== null) {
      const grown = this.o.memoryInUse() - this.baseline;
      this.bytesPerInput = Math.max(this.bytesPerInput, grown / this.largestCall);
    }
  }

  /** The rungs measured so far: samples per call and noisy samples per second (for reports). */
  get ladder(): { samples: number; samplesPerSecond: number }[] {
    return this.rungs
      .filter((r) => r.timed > 0)
      .map((r) => ({ samples: r.samples, samplesPerSecond: r.rate }));
  }
}
