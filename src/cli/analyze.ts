/** `smooth-reduce analyze <log...>`: the table of certified accuracy, ACR, abstention and time. */
import type { Command } from 'commander';
import { summarize } from '../analysis/metrics.js';
import { loadRuns, parseRadii, parseSpace } from '../analysis/runs.js';
import { parseTableFormat, summaryTable } from '../analysis/table.js';
import { UsageError } from '../core/errors.js';

export const DEFAULT_RADII = '0,0.25,0.5,0.75,1';

const collect = (value: string, previous: string[]) => [...previous, value];

export function register(program: Command): void {
  program
    .command('analyze')
    .description(
      "summarise certification logs (ours or Cohen et al.'s): approximate certified accuracy at given radii, " +
        'average certified radius, abstention rate and time per input, one row per log',
    )
    .argument('<log...>', 'certification (or PREDICT) logs, TSV with a header line')
    .option('--radii <list>', 'radii at which to report certified accuracy, comma-separated', DEFAULT_RADII)
    .option('--format <format>', 'md | latex | csv | json', 'md')
    .option('--space <space>', 'input (the radius column) | smoothing (the radius_smoothing column)', 'input')
    .option(
      '--label <text>',
      'name of a run, once per log in order (default: manifest label or path)',
      collect,
      [],
    )
    .option('--digits <n>', 'decimals in md and latex tables', '3')
    .action(
      (
        logs: string[],
        opts: { radii: string; format: string; space: string; label: string[]; digits: string },
      ) => {
        const format = parseTableFormat(opts.format);
        const radii = parseRadii(opts.radii);
        const digits = Number(opts.digits);
        if (!Number.isInteger(digits) || digits < 0 || digits > 12) {
          throw new UsageError(`bad --digits '${opts.digits}': expected an integer from 0 to 12`);
        }
        const loaded = loadRuns(logs, parseSpace(opts.space), opts.label);
        for (const w of loaded.warnings) console.error(`warning: ${w}`);
        const rows = loaded.runs.map((r) => ({
          label: r.label,
          path: r.log.path,
          kind: r.log.kind,
          summary: summarize(r.outcomes, radii),
        }));
        process.stdout.write(
          summaryTable(rows, {
            format,
            radii,
            space: loaded.space,
            spaceDescription: loaded.spaceDescription,
            digits,
          }),
        );
      },
    );
}
