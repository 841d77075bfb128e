/** `smooth-reduce analyze <log...>`: the table of certified accuracy, ACR, abstention and time. */
import type { Command } from 'commander';
import { summarize } from '../analysis/metrics.js';
import { parseTableFormat, summaryTable } from '../analysis/table.js';
import { runCap } from '../analysis/log.js';
import { UsageError } from '../core/errors.js';
import { DEFAULT_RESAMPLES, DEFAULT_SEED } from '../analysis/statistics.js';
import {
  type LogOptions,
  loadLogs,
  withLogOptions,
  parseConfidence,
  parseInteger,
  parseRadii,
} from './log-options.js';
import type { OutputStreams } from './streams.js';

export const DEFAULT_RADII = '0,0.25,0.5,0.75,1';

interface AnalyzeCliOptions extends LogOptions {
  radii: string;
  format: string;
  digits: string;
  confidence: string;
  resamples: string;
  seed: string;
  intervals: boolean;
}

export function register(program: Command, streams: OutputStreams): void {
  withLogOptions(
    program
      .command('analyze')
      .description(
        "summarise certification logs (ours or Cohen et al.'s): approximate certified accuracy at given radii " +
          '(L2, in the space chosen by --space; the caption names it) with Clopper-Pearson intervals, ' +
          'average certified radius with a bootstrap interval, abstention rate and time per input, one row per log',
      )
      .argument('<log...>', 'certification (or PREDICT) logs, TSV with a header line')
      .option(
        '--radii <list>',
        'L2 radii (in the --space radius space) at which to report certified accuracy, comma-separated',
        DEFAULT_RADII,
      )
      .option(
        '--confidence <level>',
        "level of the two-sided Clopper-Pearson interval on each certified accuracy (binomial over the log's inputs)",
        '0.95',
      )
      .option(
        '--resamples <k>',
        'bootstrap resamples of the inputs for the ACR interval',
        String(DEFAULT_RESAMPLES),
      )
      .option('--seed <s>', 'seed of the bootstrap resampling (1 to 4294967295)', String(DEFAULT_SEED))
      .option('--no-intervals', 'leave the intervals out of md and latex tables (CSV and JSON keep them)')
      .option('--format <format>', 'md | latex | csv | json', 'md')
      .option('--digits <n>', 'decimals in md and latex tables', '3'),
    undefined,
    true,
  ).action((logs: string[], opts: AnalyzeCliOptions) => {
    const format = parseTableFormat(opts.format);
    const radii = parseRadii(opts.radii);
    const confidence = parseConfidence('--confidence', opts.confidence);
    const bootstrap = {
      resamples: parseInteger('--resamples', opts.resamples, 1, 10_000_000),
      seed: parseInteger('--seed', opts.seed, 1, 2 ** 32 - 1),
    };
    const digits = Number(opts.digits);
    if (!Number.isInteger(digits) || digits < 0 || digits > 12) {
      throw new UsageError(`bad --digits '${opts.digits}': expected an integer from 0 to 12`);
    }
    const loaded = loadLogs(logs, opts, streams);
    const rows = loaded.runs.map((r) => ({
      label: r.label,
      path: r.log.path,
      kind: r.log.kind,
      summary: summarize(r.outcomes, radii, confidence, bootstrap),
      cap: r.log.kind === 'certify' ? runCap(r.log, r.outcomes, loaded.space) : undefined,
    }));
    streams.stdout.write(
      summaryTable(rows, {
        format,
        radii,
        space: loaded.space,
        spaceDescription: loaded.spaceDescription,
        digits,
        confidence,
        bootstrap,
        showIntervals: opts.intervals,
      }),
    );
  });
}
