/** `smooth-reduce plot <log...> --out fig.svg|fig.png`: certified accuracy vs. radius curves. */
import type { Command } from 'commander';
import { LEGEND_POSITIONS, parseLegendPosition } from '../analysis/plot/legend.js';
import { radiusTitle } from '../analysis/runs.js';
import { type LogOptions, loadLogs, parseConfidence, parsePositive, withLogOptions } from './log-options.js';
import type { OutputStreams } from './streams.js';

/** The legend positions, for the help. */
export const LEGEND_HELP = LEGEND_POSITIONS.join(' | ');

interface PlotCliOptions extends LogOptions {
  out: string;
  title?: string;
  maxRadius?: string;
  width: string;
  height: string;
  scale: string;
  legend: string;
  bands?: boolean;
  confidence: string;
  group: string;
}

export function register(program: Command, streams: OutputStreams): void {
  withLogOptions(
    program
      .command('plot')
      .description(
        'draw certified accuracy against L2 radius for one or more certification logs, as SVG or PNG',
      )
      .argument('<log...>', 'certification logs, TSV with a header line')
      .requiredOption('--out <file>', 'figure to write; .svg or .png')
      .option('--title <text>', 'title above the figure')
      .option('--max-radius <r>', 'right end of the radius axis (default: the largest radius, rounded up)'),
    undefined,
    true,
  )
    .option('--width <px>', 'figure width in CSS pixels', '560')
    .option('--height <px>', 'figure height in CSS pixels', '360')
    .option('--scale <k>', 'PNG pixels per CSS pixel', '2')
    .option('--legend <position>', LEGEND_HELP, 'bottom')
    .option(
      '--bands',
      "draw each curve's two-sided Clopper-Pearson interval band (binomial over the log's inputs) in its colour",
    )
    .option('--confidence <level>', 'confidence level of the --bands', '0.95')
    .option(
      '--group <k>',
      "runs in consecutive groups of k share a colour, told apart by dash (e.g. 2: ours and the paper's at each sigma)",
      '1',
    )
    .action(async (logs: string[], opts: PlotCliOptions) => {
      // vega, vega-lite and resvg load when a plot is drawn, not when the command line starts
      const { writePlot } = await import('../analysis/plot/figure.js');
      const legend = parseLegendPosition(opts.legend);
      const confidence = parseConfidence('--confidence', opts.confidence);
      const loaded = loadLogs(logs, opts, streams);
      const written = await writePlot(
        loaded.runs.map((r) => ({ label: r.label, outcomes: r.outcomes })),
        opts.out,
        {
          xTitle: radiusTitle(loaded.spaceDescription),
          title: opts.title,
          maxRadius: opts.maxRadius === undefined ? undefined : parsePositive('--max-radius', opts.maxRadius),
          width: parsePositive('--width', opts.width),
          height: parsePositive('--height', opts.height),
          scale: parsePositive('--scale', opts.scale),
          legend,
          bands: opts.bands ? confidence : undefined,
          group: parsePositive('--group', opts.group),
        },
      );
      streams.stderr.write(
        `wrote ${written.path} (${written.format}, ${written.width} x ${written.height})\n`,
      );
    });
}
