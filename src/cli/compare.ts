/** `smooth-reduce compare <logA> <logB>`: paired comparison of two runs on the same inputs. */
import type { Command } from 'commander';
import { comparePaired, comparisonTable } from '../analysis/compare.js';
import { loadRuns, parseSpace } from '../analysis/runs.js';
import { parseTableFormat } from '../analysis/table.js';

const collect = (value: string, previous: string[]) => [...previous, value];

export function register(program: Command): void {
  program
    .command('compare')
    .description(
      'compare two runs input by input (joined on idx): who certifies the larger radius, abstains, is correct',
    )
    .argument('<logA>', 'certification log of run A')
    .argument('<logB>', 'certification log of run B')
    .option('--intersect', 'compare the inputs both logs have instead of refusing different input sets')
    .option('--format <format>', 'md | latex | csv | json', 'md')
    .option('--space <space>', 'input (the radius column) | smoothing (the radius_smoothing column)', 'input')
    .option('--label <text>', 'name of run A, then of run B (default: manifest label or path)', collect, [])
    .action(
      (
        logA: string,
        logB: string,
        opts: { intersect?: boolean; format: string; space: string; label: string[] },
      ) => {
        const format = parseTableFormat(opts.format);
        const loaded = loadRuns([logA, logB], parseSpace(opts.space), opts.label);
        for (const w of loaded.warnings) console.error(`warning: ${w}`);
        const [a, b] = loaded.runs;
        const cmp = comparePaired(a.outcomes, b.outcomes, {
          intersect: opts.intersect,
          names: [a.log.path, b.log.path],
        });
        process.stdout.write(
          comparisonTable(cmp, { a: a.label, b: b.label }, format, loaded.spaceDescription),
        );
      },
    );
}
