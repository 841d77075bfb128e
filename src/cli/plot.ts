/** `smooth-reduce plot <log...> --out fig.svg|fig.png`: certified accuracy vs. radius curves. */
import type { Command } from 'commander';
import { parsePositive, radiusTitle } from '../analysis/runs.js';
import { type LogOptions, loadLogs, withLogOptions } from './log-options.js';
import type { OutputStreams } from './progress.js';

/**
 * analysis/plot.js (vega, vega-lite, resvg) is imported when a plot is drawn, not when the command
 * line starts: it would add most of a second to every other command. Its LEGEND_POSITIONS, for the
 * help (test/cli.test.ts checks the two lists agree):
 */
export const LEGEND_HELP = 'top-right | bottom-left | bottom-right | top-left | right | bottom | none';

interface PlotCliOptions extends LogOptions {
  out: string;
  title?: string;
  maxRadius?: string;
  width: string;
  height: string;
  scale: string;
  legend: string;
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
  )
    .option('--width <px>', 'figure width in CSS pixels', '560')
    .option('--height <px>', 'figure height in CSS pixels', '360')
    .option('--scale <k>', 'PNG pixels per CSS pixel', '2')
    .option('--legend <position>', LEGEND_HELP, 'top-right')
    .action(async (logs: string[], opts: PlotCliOptions) => {
      const { parseLegendPosition, writePlot } = await import('../analysis/plot.js');
      const legend = parseLegendPosition(opts.legend);
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
        },
      );
      streams.stderr.write(
        `wrote ${written.path} (${written.format}, ${written.width} x ${written.height})\n`,
      );
    });
}
