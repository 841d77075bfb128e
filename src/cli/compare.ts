/** `smooth-reduce compare <logA> <logB>`: paired comparison of two runs on the same inputs. */
import type { Command } from 'commander';
import { adjustPairedTests, comparePaired, comparisonTable, pairedTests } from '../analysis/compare.js';
import { runCap } from '../analysis/log.js';
import { clipRadii } from '../analysis/metrics.js';
import { DEFAULT_RESAMPLES, DEFAULT_SEED, parseAdjustment } from '../analysis/statistics.js';
import { parseTableFormat } from '../analysis/table.js';
import { DEFAULT_RADII } from './analyze.js';
import {
  type LogOptions,
  loadLogs,
  parseConfidence,
  parseInteger,
  parseRadii,
  withLogOptions,
} from './log-options.js';
import { UsageError } from '../core/errors.js';
import type { OutputStreams } from './streams.js';

interface CompareCliOptions extends LogOptions {
  intersect?: boolean;
  commonCap?: boolean;
  format: string;
  radii: string;
  confidence: string;
  resamples: string;
  seed: string;
  adjust: string;
}

export function register(program: Command, streams: OutputStreams): void {
  withLogOptions(
    program
      .command('compare')
      .description(
        'compare two runs input by input (joined on idx): who certifies the larger radius, abstains, is correct; ' +
          'paired bootstrap intervals on the differences (ACR, abstention, certified accuracy at each radius) ' +
          'and exact McNemar tests',
      )
      .argument('<logA>', 'certification log of run A')
      .argument('<logB>', 'certification log of run B')
      .option('--intersect', 'compare the inputs both logs have instead of refusing different input sets')
      .option(
        '--common-cap',
        "clip both runs' radii at the lower of their sample-size caps (the radius where all n samples vote for " +
          'the prediction), so that the caps alone (different n, or a reducer norm in input space) decide nothing',
      )
      .option('--format <format>', 'md | latex | csv | json', 'md')
      .option(
        '--radii <list>',
        'L2 radii (in the --space radius space) at which to test certified accuracy, comma-separated',
        DEFAULT_RADII,
      )
      .option('--confidence <level>', 'level of the paired bootstrap intervals', '0.95')
      .option('--resamples <k>', 'bootstrap resamples of the inputs', String(DEFAULT_RESAMPLES))
      .option('--seed <s>', 'seed of the bootstrap resampling (1 to 4294967295)', String(DEFAULT_SEED))
      .option(
        '--adjust <method>',
        "none | holm: adjust the McNemar p-values for multiple comparisons (Holm's step-down) over this " +
          "comparison's family of tests (abstention and certified accuracy at every --radii); the table names the family",
        'none',
      ),
    'name of run A, then of run B (default: manifest label or path)',
  ).action((logA: string, logB: string, opts: CompareCliOptions) => {
    const format = parseTableFormat(opts.format);
    const adjust = parseAdjustment(opts.adjust);
    const radii = parseRadii(opts.radii);
    const bootstrap = {
      confidence: parseConfidence('--confidence', opts.confidence),
      resamples: parseInteger('--resamples', opts.resamples, 1, 10_000_000),
      seed: parseInteger('--seed', opts.seed, 1, 2 ** 32 - 1),
    };
    const loaded = loadLogs([logA, logB], opts, streams);
    const [a, b] = loaded.runs;
    const options = { intersect: opts.intersect, names: [a.log.path, b.log.path] as [string, string] };
    let [outA, outB] = [a.outcomes, b.outcomes];
    let space = loaded.spaceDescription;
    let caps: [number, number] = [runCap(a.log, outA, loaded.space), runCap(b.log, outB, loaded.space)];
    if (opts.commonCap) {
      const cap = Math.min(...caps);
      if (!Number.isFinite(cap)) {
        throw new UsageError(
          '--common-cap: neither log has an input where count_A = n nor a manifest giving sigma, n and alpha, so no cap is known',
        );
      }
      [outA, outB] = [clipRadii(outA, cap), clipRadii(outB, cap)];
      caps = [cap, cap];
      space += `; radii clipped at the lower sample-size cap, ${cap.toPrecision(4)}`;
    }
    const cmp = comparePaired(outA, outB, options);
    const tests = adjustPairedTests(
      pairedTests(outA, outB, radii, { ...options, ...bootstrap, caps }),
      adjust,
    );
    streams.stdout.write(comparisonTable(cmp, { a: a.label, b: b.label }, format, space, tests));
  });
}
