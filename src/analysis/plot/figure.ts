/**
 * Certified accuracy vs. radius figures (as in Cohen et al.'s and the Smooth-Reduce paper's):
 * one step curve per run, built as a vega-lite spec, compiled with vega-lite, rendered to SVG by
 * vega's headless View and to PNG by resvg.
 */
import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { UsageError } from '../../core/errors.js';
import { HELVETICA_METRICS, findPlotFont, requirePlotFont, type FontMetrics, type PlotFont } from './font.js';
import { certifiedAccuracyCurve, largestCertifiedRadius, type Outcome } from '../metrics.js';
import { clopperPearsonInterval } from '../statistics.js';
import type { LegendPosition } from './legend.js';

export interface PlotRun {
  label: string;
  outcomes: readonly Outcome[];
}

export interface PlotOptions {
  /** x-axis title, naming the radius space, e.g. "L2 radius (input space)" */
  xTitle: string;
  title?: string;
  /** right end of the x axis; default: the largest certified radius, rounded up to a round number */
  maxRadius?: number;
  /** size of the whole figure in CSS pixels (default 560 x 360) */
  width?: number;
  height?: number;
  /** font family written into the SVG (default: the plot font's, then common fallbacks) */
  font?: string;
  /** advance widths of that font, to break a long title into lines (default: Helvetica's) */
  metrics?: FontMetrics;
  /** where the legend goes: inside a corner of the plot, outside it, or nowhere (default bottom: below the axes) */
  legend?: LegendPosition;
  /**
   * draw around each curve its band of two-sided Clopper-Pearson intervals at this confidence level
   * (e.g. 0.95; binomial over the run's inputs), in the curve's colour; default: no bands
   */
  bands?: number;
  /**
   * runs in consecutive groups of this many share a colour and are told apart by their dash (e.g.
   * ours and the paper's at each sigma: group 2); default: a colour and a dash per run
   */
  group?: number;
}

/** Dash patterns of the curves, solid first. */
const DASHES = [
  [1, 0],
  [7, 3],
  [2, 2],
  [9, 3, 2, 3],
  [4, 4],
  [12, 3, 3, 3, 3, 3],
];

/** Opacity of the interval bands: light enough to see the other curves through them. */
export const BAND_OPACITY = 0.15;

export const PLOT_FORMATS = ['svg', 'png'] as const;
export type PlotFormat = (typeof PLOT_FORMATS)[number];

/** A round number at or above `x` (1, 2, 2.5 or 5 times a power of ten, times an integer). */
export function niceCeiling(x: number): number {
  if (!(x > 0)) return 1;
  const raw = x / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) as number;
  return Number((Math.ceil(x / step - 1e-9) * step).toPrecision(12));
}

const TITLE_FONT_SIZE = 15;

/**
 * Splits a title at spaces into lines no wider than `maxWidth` as `measure` counts width
 * (characters by default; the figure passes the plot font's advance widths in pixels), so a long
 * title is not clipped at the figure's edges. Vega draws an array of strings as stacked lines.
 */
export function wrapTitle(
  title: string,
  maxWidth: number,
  measure: (text: string) => number = (text) => text.length,
): string | string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of title.split(/\s+/).filter((w) => w.length > 0)) {
    if (line.length > 0 && measure(`${line} ${word}`) > maxWidth) {
      lines.push(line);
      line = word;
    } else {
      line = line.length > 0 ? `${line} ${word}` : word;
    }
  }
  if (line.length > 0) lines.push(line);
  return lines.length === 1 ? lines[0] : lines;
}

/** The vega-lite spec of the figure. */
export function certifiedAccuracySpec(runs: readonly PlotRun[], options: PlotOptions): TopLevelSpec {
  if (runs.length === 0) throw new UsageError('nothing to plot: no runs');
  for (const r of runs) {
    if (r.outcomes.length === 0) throw new UsageError(`${r.label}: no inputs to plot`);
    if (r.outcomes.some((o) => o.radius === null)) {
      throw new UsageError(`${r.label}: a PREDICT log has no radii, so it has no certified accuracy curve`);
    }
  }
  const maxRadius =
    options.maxRadius ?? niceCeiling(Math.max(...runs.map((r) => largestCertifiedRadius(r.outcomes))));
  if (!(maxRadius > 0)) throw new UsageError(`--max-radius must be a number > 0, got ${options.maxRadius}`);
  const labels = runs.map((r) => r.label);
  if (new Set(labels).size !== labels.length)
    throw new UsageError(`two runs have the same label: ${labels.join(', ')}`);
  const bands = options.bands;
  const values = runs.flatMap((r) =>
    certifiedAccuracyCurve(r.outcomes, maxRadius).map((p, order) => ({ run: r.label, order, ...p })),
  );
  // the bands step where the curves do; at a radius where a curve drops, the band takes the value
  // just after it (an area is drawn in the order of x, so each run has one point per radius)
  const bandValues =
    bands === undefined
      ? []
      : runs.flatMap((r) => {
          const n = r.outcomes.length;
          return certifiedAccuracyCurve(r.outcomes, maxRadius)
            .filter((p, i, curve) => i === curve.length - 1 || curve[i + 1].radius !== p.radius)
            .map((p) => ({
              run: r.label,
              radius: p.radius,
              ...clopperPearsonInterval(Math.round(p.accuracy * n), n, bands),
            }));
        });
  // below the axes by default: inside the plot a legend covers some curve whatever the corner
  const position = options.legend ?? 'bottom';
  const inside = position !== 'right' && position !== 'bottom';
  const legend =
    position === 'none'
      ? null
      : {
          title: null,
          orient: position,
          offset: inside ? 8 : 12,
          padding: inside ? 6 : 0,
          ...(inside ? { fillColor: 'rgba(255,255,255,0.85)', strokeColor: '#bbbbbb', cornerRadius: 2 } : {}),
          ...(position === 'bottom'
            ? { direction: 'horizontal' as const, columns: 2, columnPadding: 16 }
            : {}),
          symbolType: 'stroke',
          symbolSize: 500,
          symbolStrokeWidth: 2,
          symbolOpacity: 1,
          labelFontSize: 12,
          labelLimit: 1000,
          rowPadding: 4,
        };
  const font = options.font ?? 'Helvetica, Arial, sans-serif';
  const metrics = options.metrics ?? HELVETICA_METRICS;
  const width = options.width ?? 560;
  const padding = { left: 6, right: 14, top: 10, bottom: 6 };
  const x = {
    field: 'radius',
    type: 'quantitative' as const,
    scale: { domain: [0, maxRadius], nice: false, zero: true },
    axis: { title: options.xTitle, tickCount: Math.max(4, Math.round(width / 80)) },
  };
  const yScale = { domain: [0, 1], nice: false };
  const yAxis = { title: 'Certified accuracy', format: '.1f', tickCount: 5 };
  const group = options.group ?? 1;
  if (!(Number.isInteger(group) && group >= 1 && group <= DASHES.length))
    throw new UsageError(`--group must be a whole number from 1 to ${DASHES.length}, got ${options.group}`);
  // one colour per run, or per group of runs; dashes cycle within a group (or over all runs)
  const palette = vega.scheme('tableau10') as string[];
  const color = {
    field: 'run',
    type: 'nominal' as const,
    sort: labels,
    scale: {
      domain: labels,
      range: labels.map((_, i) => palette[Math.floor(i / group) % palette.length]),
    },
  };
  const dashes = labels.map((_, i) => DASHES[(group > 1 ? i % group : i) % DASHES.length]);
  const order = { field: 'order', type: 'quantitative' as const };
  const line = {
    mark: { type: 'line' as const, interpolate: 'step-after' as const, strokeWidth: 2, clip: true },
    encoding: {
      x,
      y: { field: 'accuracy', type: 'quantitative' as const, scale: yScale, axis: yAxis },
      color: { ...color, legend },
      strokeDash: {
        field: 'run',
        type: 'nominal' as const,
        sort: labels,
        legend,
        scale: { domain: labels, range: dashes },
      },
      order,
    },
  };
  // the bands under the lines, in the same colours; the lines' legend stands for both
  const band = {
    data: { values: bandValues },
    mark: {
      type: 'area' as const,
      interpolate: 'step-after' as const,
      opacity: BAND_OPACITY,
      clip: true,
    },
    encoding: {
      x,
      y: { field: 'low', type: 'quantitative' as const, scale: yScale, axis: yAxis, stack: null },
      y2: { field: 'high' },
      color: { ...color, legend },
    },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width,
    height: options.height ?? 360,
    autosize: { type: 'fit', contains: 'padding' },
    padding,
    background: 'white',
    ...(options.title
      ? {
          title: {
            text: wrapTitle(
              options.title,
              width - padding.left - padding.right,
              (text) => metrics.width(text) * TITLE_FONT_SIZE,
            ),
            fontSize: TITLE_FONT_SIZE,
            fontWeight: 'normal',
            frame: 'bounds',
            offset: 10,
          },
        }
      : {}),
    data: { values },
    ...(bands === undefined ? line : { layer: [band, line] }),
    config: {
      font,
      view: { stroke: '#444444' },
      axis: {
        labelFontSize: 12,
        titleFontSize: 13,
        titleFontWeight: 'normal',
        labelColor: '#222222',
        titleColor: '#222222',
        domainColor: '#444444',
        tickColor: '#444444',
        gridColor: '#e8e8e8',
        titlePadding: 8,
      },
    },
  };
}

type TextMetricsHook = { width: (item: { fontSize?: number }, text?: unknown) => number };

/**
 * Renders the spec to SVG with vega's headless View, laying text out with the metrics of the
 * font that will draw it (vega has no canvas here to measure with). Vega's text measurement is a
 * module-wide hook, so renders run one at a time.
 */
export function renderSvg(spec: TopLevelSpec, metrics: FontMetrics = HELVETICA_METRICS): Promise<string> {
  const job = renderQueue.then(() => renderSvgNow(spec, metrics));
  renderQueue = job.catch(() => undefined);
  return job;
}

let renderQueue: Promise<unknown> = Promise.resolve();

async function renderSvgNow(spec: TopLevelSpec, metrics: FontMetrics): Promise<string> {
  const hook = (vega as unknown as { textMetrics: TextMetricsHook }).textMetrics;
  const previous = hook.width;
  hook.width = (item, text) => {
    const size = item.fontSize != null ? +item.fontSize || 0 : 11;
    return metrics.width(text == null ? '' : String(text).trim()) * size;
  };
  try {
    const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
    try {
      return await view.toSVG();
    } finally {
      view.finalize();
    }
  } finally {
    hook.width = previous;
  }
}

/** Rasterises an SVG with resvg at `scale` pixels per CSS pixel, with the given font file only. */
export function renderPng(svg: string, font: PlotFont, scale = 2): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: {
      loadSystemFonts: false,
      fontFiles: [font.path],
      defaultFontFamily: font.metrics.family,
      sansSerifFamily: font.metrics.family,
    },
    logLevel: 'error',
  });
  return resvg.render().asPng();
}

export function plotFormat(path: string): PlotFormat {
  const ext = extname(path).slice(1).toLowerCase();
  if ((PLOT_FORMATS as readonly string[]).includes(ext)) return ext as PlotFormat;
  throw new UsageError(`cannot tell the figure format from '${path}': name it .svg or .png`);
}

export interface WrittenPlot {
  path: string;
  format: PlotFormat;
  /** size in pixels (PNG) or CSS pixels (SVG) */
  width: number;
  height: number;
  /** the font file that laid out (and for PNG drew) the text, if any */
  font: string | null;
}

/** Writes the figure as SVG or PNG, chosen by the extension of `path`. */
export async function writePlot(
  runs: readonly PlotRun[],
  path: string,
  options: PlotOptions & { scale?: number },
): Promise<WrittenPlot> {
  const format = plotFormat(path);
  const font = format === 'png' ? requirePlotFont() : findPlotFont();
  const family = font ? `${cssFamily(font.metrics.family)}, Helvetica, Arial, sans-serif` : undefined;
  const metrics = font?.metrics ?? HELVETICA_METRICS;
  const spec = certifiedAccuracySpec(runs, { font: family, metrics, ...options });
  const svg = await renderSvg(spec, metrics);
  const size = svgSize(svg);
  let data: string | Buffer = svg;
  let { width, height } = size;
  if (format === 'png') {
    const scale = options.scale ?? 2;
    if (!(scale > 0 && scale <= 10)) throw new UsageError(`--scale must be in (0, 10], got ${scale}`);
    data = renderPng(svg, font as PlotFont, scale);
    width = Math.round(size.width * scale);
    height = Math.round(size.height * scale);
  }
  try {
    writeFileSync(path, data);
  } catch (e) {
    throw new UsageError(`cannot write ${path}: ${(e as Error).message}`);
  }
  return { path, format, width, height, font: font?.path ?? null };
}

function svgSize(svg: string): { width: number; height: number } {
  const m = /<svg[^>]*\swidth="([\d.]+)"[^>]*\sheight="([\d.]+)"/.exec(svg);
  return m ? { width: Number(m[1]), height: Number(m[2]) } : { width: NaN, height: NaN };
}

function cssFamily(family: string): string {
  return /^[A-Za-z][\w -]*$/.test(family) ? family : `'${family.replace(/'/g, '')}'`;
}
