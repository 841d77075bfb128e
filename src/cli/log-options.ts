/** The options and loading shared by the commands that read certification logs (analyze, plot, compare). */
import type { Command } from 'commander';
import { type LoadedRuns, loadRuns, parseSpace } from '../analysis/runs.js';
import type { OutputStreams } from './progress.js';

export interface LogOptions {
  space: string;
  label: string[];
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** Adds `--space` and the repeatable `--label` to a command. */
export function withLogOptions(
  command: Command,
  labelHelp = 'name of a run, once per log in order (default: manifest label or path)',
): Command {
  return command
    .option('--space <space>', 'input (the radius column) | smoothing (the radius_smoothing column)', 'input')
    .option('--label <text>', labelHelp, collect, []);
}

/** Reads the logs in the chosen radius space, printing any warning to stderr. */
export function loadLogs(logs: string[], opts: LogOptions, streams: OutputStreams): LoadedRuns {
  const loaded = loadRuns(logs, parseSpace(opts.space), opts.label);
  for (const w of loaded.warnings) streams.stderr.write(`warning: ${w}\n`);
  return loaded;
}
