/**
 * The options, option parsers and loading shared by the commands that read certification logs
 * (analyze, plot, compare).
 */
import type { Command } from 'commander';
import type { RadiusSpace } from '../analysis/log.js';
import { type LoadedRuns, loadRuns } from '../analysis/runs.js';
import { UsageError } from '../core/errors.js';
import type { OutputStreams } from './streams.js';

export interface LogOptions {
  space: string;
  label: string[];
  /** only the inputs every log has (analyze, plot) */
  common?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** Adds `--space` and the repeatable `--label` to a command (and `--common` to analyze and plot). */
export function withLogOptions(
  command: Command,
  labelHelp = 'name of a run, once per log in order (default: manifest label or path)',
  common = false,
): Command {
  command
    .option('--space <space>', 'input (the radius column) | smoothing (the radius_smoothing column)', 'input')
    .option('--label <text>', labelHelp, collect, []);
  if (common)
    command.option(
      '--common',
      'only the inputs (idx) every log has, e.g. a 500-image RS run beside 100-image runs on a subset of its images',
      false,
    );
  return command;
}

/** Reads the logs in the chosen radius space, printing any warning to stderr. */
export function loadLogs(logs: string[], opts: LogOptions, streams: OutputStreams): LoadedRuns {
  const loaded = loadRuns(logs, parseSpace(opts.space), opts.label, opts.common ?? false);
  for (const w of loaded.warnings) streams.stderr.write(`warning: ${w}\n`);
  return loaded;
}

export function parseSpace(text: string): RadiusSpace {
  if (text === 'input' || text === 'smoothing') return text;
  throw new UsageError(`unknown radius space '${text}' (expected input or smoothing)`);
}

/** "0,0.25,0.5" -> [0, 0.25, 0.5]: numbers >= 0, in the order given. */
export function parseRadii(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const radii = parts.map((s) => (s === '' ? NaN : Number(s)));
  const bad = parts.filter((_, i) => !(radii[i] >= 0) || !Number.isFinite(radii[i]));
  if (parts.length === 0 || bad.length > 0) {
    throw new UsageError(`bad --radii '${text}': expected numbers >= 0 separated by commas, e.g. 0,0.25,0.5`);
  }
  return radii;
}

/** A positive number option, e.g. --max-radius. */
export function parsePositive(name: string, text: string): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v <= 0) {
    throw new UsageError(`bad ${name} '${text}': expected a number > 0`);
  }
  return v;
}

/** A confidence level option such as --confidence 0.95: a number strictly between 0 and 1. */
export function parseConfidence(name: string, text: string): number {
  const v = Number(text);
  if (text.trim() === '' || !(v > 0 && v < 1)) {
    throw new UsageError(`bad ${name} '${text}': expected a number between 0 and 1, e.g. 0.95`);
  }
  return v;
}

/** An integer option within [min, max], e.g. --resamples or --seed. */
export function parseInteger(name: string, text: string, min: number, max: number): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isInteger(v) || v < min || v > max) {
    throw new UsageError(`bad ${name} '${text}': expected an integer from ${min} to ${max}`);
  }
  return v;
}
