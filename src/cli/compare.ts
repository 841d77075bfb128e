/** `smooth-reduce compare <logA> <logB>`: paired comparison of two runs on the same inputs. */
import type { Command } from 'commander';
import { comparePaired, comparisonTable } from '../analysis/compare.js';
import { parseTableFormat } from '../analysis/table.js';
import { type LogOptions, loadLogs, withLogOptions } from './log-options.js';
import type { OutputStreams } from './streams.js';

export function register(program: Command, streams: OutputStreams): void {
  withLogOptions(
    program
      .command('compare')
      .description(
        'compare two runs input by input (joined on idx): who certifies the larger radius, abstains, is correct',
      )
      .argument('<logA>', 'certification log of run A')
      .argument('<logB>', 'certification log of run B')
      .option('--intersect', 'compare the inputs both logs have instead of refusing different input sets')
      .option('--format <format>', 'md | latex | csv | json', 'md'),
    'name of run A, then of run B (default: manifest label or path)',
  ).action((logA: string, logB: string, opts: LogOptions & { intersect?: boolean; format: string }) => {
    const format = parseTableFormat(opts.format);
    const loaded = loadLogs([logA, logB], opts, streams);
    const [a, b] = loaded.runs;
    const cmp = comparePaired(a.outcomes, b.outcomes, {
      intersect: opts.intersect,
      names: [a.log.path, b.log.path],
    });
    streams.stdout.write(comparisonTable(cmp, { a: a.label, b: b.label }, format, loaded.spaceDescription));
  });
}
