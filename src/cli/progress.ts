/**
 * Progress displays for `certify` / `predict` (RunObservers):
 * - on a terminal (stderr is a TTY): a cli-progress bar with done/total, rate, ETA, running
 *   certified accuracy and abstentions;
 * - otherwise (logs, CI, pipes): a plain line to stderr at most every 10 s, and one at the end;
 * - `--quiet`: nothing (errors are still printed by the caller);
 * - `--json`: JSON lines on stdout, one `start` event, one `input` event per input, one `finish`
 *   event, and nothing else on stdout.
 */
import cliProgress from 'cli-progress';
import type { RunManifest } from '../io/manifest.js';
import type { OutputStreams } from './streams.js';
import type { InputEvent, ResumedCounts, RunObserver, RunTotals } from '../run/certify-run.js';

export type ProgressMode = 'tty' | 'lines' | 'quiet' | 'json';

export interface ProgressOptions {
  mode: ProgressMode;
  /** the log being written, for messages */
  out: string;
  streams: OutputStreams;
  /** plain lines: at most one every this many milliseconds (default 10 s) */
  intervalMs?: number;
  /** clock in milliseconds (tests) */
  now?: () => number;
  /** the inputs have no labels (image files without --label): accuracies say "no label" */
  unlabelled?: boolean;
  /** where sigma came from (chooseSigma): on the start line, a warning line before it */
  sigma?: { note: string; source: string; warning: string | null };
}

/** A RunObserver that can be closed early (an error in the run): stops a bar, restores the terminal. */
export interface ProgressDisplay extends RunObserver {
  close(): void;
}

/** --json, then --quiet, then the terminal decides. */
export function progressMode(
  flags: { json?: boolean; quiet?: boolean },
  stderr: { isTTY?: boolean },
): ProgressMode {
  if (flags.json) return 'json';
  if (flags.quiet) return 'quiet';
  return stderr.isTTY ? 'tty' : 'lines';
}

/** 75 -> "1m15s", 7300 -> "2h01m"; "?" when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 9.95) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}

/** Inputs per second with about three significant digits. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return '?';
  return perSecond >= 100 ? perSecond.toFixed(0) : perSecond.toPrecision(3);
}

/** Running totals over the whole log (resumed lines and this session). */
class Tally {
  total = 0;
  resumed = 0;
  done = 0;
  correct = 0;
  abstained = 0;
  /** inputs of this session that could not be read (no log line): neither right nor wrong */
  skipped = 0;
  private t0 = 0;

  constructor(private readonly now: () => number) {}

  start(total: number, resumed: number, counts: ResumedCounts): void {
    this.total = total;
    this.resumed = resumed;
    this.done = resumed;
    this.correct = counts.correct;
    this.abstained = counts.abstained;
    this.skipped = 0;
    this.t0 = this.now();
  }

  /** an input that could not be read: it counts as processed, not in the accuracy */
  skip(): void {
    this.done++;
    this.skipped++;
  }

  add(e: InputEvent, done: number): void {
    this.done = done;
    if (e.correct && e.prediction >= 0) this.correct++;
    if (e.prediction < 0) this.abstained++;
  }

  /** inputs per second in this session */
  get rate(): number {
    const seconds = (this.now() - this.t0) / 1000;
    return seconds > 0 ? (this.done - this.resumed) / seconds : NaN;
  }

  get eta(): number {
    return this.done >= this.total ? 0 : (this.total - this.done) / this.rate;
  }

  /** inputs with a log line */
  get scored(): number {
    return this.done - this.skipped;
  }

  /** certified accuracy at radius 0 (PREDICT: accuracy): correct and not abstained / inputs with a line */
  get accuracy(): number {
    return this.scored > 0 ? this.correct / this.scored : NaN;
  }
}

function startLine(total: number, resumed: number, m: RunManifest, options: ProgressOptions): string {
  const already = resumed > 0 ? `${resumed} already in ${options.out}, ` : '';
  const space = m.command === 'certify' ? `; radii in input space, smoothing space: ${m.smoothingSpace}` : '';
  const sigma = options.sigma ? `; ${options.sigma.note}` : '';
  return `${m.label}: ${inputs(total)} (${already}${total - resumed} to do)${space}${sigma}`;
}

/** The warning line before the start line (a sigma other than the training sigma), if any. */
function warningLines(options: ProgressOptions): string[] {
  return options.sigma?.warning ? [`smooth-reduce: warning: ${options.sigma.warning}`] : [];
}

/** "1 input", "2 inputs" */
export function inputs(k: number): string {
  return `${k} input${k === 1 ? '' : 's'}`;
}

function finishLine(
  s: RunTotals,
  t: Tally,
  out: string,
  m: RunManifest | undefined,
  unlabelled: boolean,
): string {
  const session = s.resumed > 0 ? ` (${s.total - s.resumed} this session)` : '';
  const word = m?.command === 'predict' ? 'accuracy' : 'certified accuracy';
  const accuracy = unlabelled
    ? `${word}: no label`
    : `${word} ${t.accuracy.toFixed(3)} (${t.correct}/${t.scored})`;
  const skipped = t.skipped > 0 ? `, ${t.skipped} skipped (unreadable, no log line)` : '';
  return `done: ${inputs(s.total)}${session} in ${formatDuration(s.seconds)}, ${accuracy}, ${t.abstained} abstained${skipped}; log ${out}`;
}

/** The one line reporting an input that could not be read (it gets no log line). */
function skipLine(idx: number, reason: string): string {
  return `smooth-reduce: skipped input ${idx}: ${reason}`;
}

function accuracyWord(m: RunManifest | undefined): string {
  return m?.command === 'predict' ? 'accuracy' : 'certified acc';
}

export function createProgress(options: ProgressOptions): ProgressDisplay {
  const now = options.now ?? (() => Date.now());
  const tally = new Tally(now);
  const unlabelled = options.unlabelled ?? false;
  const accuracyText = () =>
    unlabelled ? 'no label' : Number.isNaN(tally.accuracy) ? '-' : tally.accuracy.toFixed(3);
  const { stdout, stderr } = options.streams;
  const say = (line: string) => stderr.write(line + '\n');
  switch (options.mode) {
    case 'quiet':
      return {
        start() {},
        input() {},
        skip: (idx, reason) => say(skipLine(idx, reason)),
        finish() {},
        close() {},
      };

    case 'json': {
      const emit = (event: Record<string, unknown>) => stdout.write(JSON.stringify(event) + '\n');
      return {
        start(total, resumed, m, counts) {
          tally.start(total, resumed, counts);
          emit({
            event: 'start',
            command: m.command,
            label: m.label,
            total,
            resumed,
            out: options.out,
            radiusSpace: m.radiusSpace,
            smoothingSpace: m.smoothingSpace,
            ...(options.sigma
              ? {
                  sigmaSource: options.sigma.source,
                  warnings: options.sigma.warning ? [options.sigma.warning] : [],
                }
              : {}),
          });
        },
        input(e, done) {
          tally.add(e, done);
          // seconds to the microsecond (not 0.27568688700000005)
          emit({
            event: 'input',
            done,
            total: tally.total,
            ...e,
            seconds: Math.round(e.seconds * 1e6) / 1e6,
          });
        },
        skip(idx, reason) {
          tally.skip();
          emit({ event: 'skip', idx, reason });
        },
        finish(s) {
          // totals over the whole log; `session` holds this process's share
          emit({
            event: 'finish',
            total: s.total,
            resumed: s.resumed,
            done: tally.done,
            correct: tally.correct,
            abstained: tally.abstained,
            skipped: tally.skipped,
            // null: the inputs have no labels
            accuracy: unlabelled ? null : tally.accuracy,
            seconds: Math.round(s.seconds * 1e6) / 1e6,
            session: { inputs: s.total - s.resumed, correct: s.correct, abstained: s.abstained },
            out: options.out,
          });
        },
        close() {},
      };
    }

    case 'lines': {
      const interval = options.intervalMs ?? 10_000;
      let last = 0;
      let manifest: RunManifest | undefined;
      const line = () => {
        const pct = tally.total > 0 ? ((100 * tally.done) / tally.total).toFixed(0) : '100';
        return (
          `[${tally.done}/${tally.total}] ${pct}% | ${formatRate(tally.rate)} inputs/s | ETA ${formatDuration(tally.eta)} | ` +
          `${accuracyWord(manifest)} ${accuracyText()} | abstained ${tally.abstained}`
        );
      };
      return {
        start(total, resumed, m, counts) {
          manifest = m;
          tally.start(total, resumed, counts);
          last = now();
          for (const w of warningLines(options)) say(w);
          say(startLine(total, resumed, m, options));
        },
        input(e, done) {
          tally.add(e, done);
          if (done < tally.total && now() - last >= interval) {
            last = now();
            say(line());
          }
        },
        skip(idx, reason) {
          tally.skip();
          say(skipLine(idx, reason));
        },
        finish(s) {
          if (tally.done > tally.resumed) say(line());
          say(finishLine(s, tally, options.out, manifest, unlabelled));
        },
        close() {},
      };
    }

    case 'tty': {
      let bar: cliProgress.SingleBar | undefined;
      const payload = () => ({
        rate: formatRate(tally.rate),
        etaText: formatDuration(tally.eta),
        accuracy: accuracyText(),
        abstained: tally.abstained,
      });
      const stop = () => {
        bar?.stop();
        bar = undefined;
      };
      let manifest: RunManifest | undefined;
      return {
        start(total, resumed, m, counts) {
          manifest = m;
          tally.start(total, resumed, counts);
          for (const w of warningLines(options)) say(w);
          say(startLine(total, resumed, m, options));
          bar = new cliProgress.SingleBar(
            {
              format:
                `{bar} {value}/{total} | {rate} inputs/s | ETA {etaText} | ` +
                `${accuracyWord(m)} {accuracy} | abstained {abstained}`,
              stream: stderr as NodeJS.WritableStream,
              barsize: 24,
              hideCursor: false,
              clearOnComplete: false,
              stopOnComplete: false,
              fps: 4,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(total, resumed, payload());
        },
        input(e, done) {
          tally.add(e, done);
          bar?.update(done, payload());
        },
        skip(idx, reason) {
          tally.skip();
          stderr.write('\n');
          say(skipLine(idx, reason));
        },
        finish(s) {
          bar?.update(tally.done, payload());
          stop();
          say(finishLine(s, tally, options.out, manifest, unlabelled));
        },
        close: stop,
      };
    }
  }
}
