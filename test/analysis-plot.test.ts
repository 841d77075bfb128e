import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { FONT_ENV, HELVETICA_METRICS, findPlotFont, readFontMetrics } from '../src/analysis/plot/font.js';
import { outcomes, readLog } from '../src/analysis/log.js';
import {
  certifiedAccuracySpec,
  wrapTitle,
  niceCeiling,
  plotFormat,
  renderPng,
  renderSvg,
  writePlot,
  type PlotRun,
} from '../src/analysis/plot/figure.js';
import { parseLegendPosition } from '../src/analysis/plot/legend.js';
import { UsageError } from '../src/core/errors.js';
import { COHEN_SKIP, cohenLog, fixture } from './fixtures/analysis/paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'sr-plot-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const font = findPlotFont();
const NO_FONT = font
  ? false
  : 'no TrueType font on this machine (see NO_FONT_HINT in src/analysis/plot/font.ts)';
const runs: PlotRun[] = [
  { label: 'Smooth-Mean (9 patches, correlated)', outcomes: outcomes(readLog(fixture('run-a.tsv'))) },
  { label: 'Randomized smoothing', outcomes: outcomes(readLog(fixture('run-b.tsv'))) },
];
const xTitle = 'L2 radius (input space)';

describe('plot: spec', () => {
  it('round axis ends', () => {
    assert.equal(niceCeiling(0.978), 1);
    assert.equal(niceCeiling(1), 1);
    assert.equal(niceCeiling(1.96), 2);
    assert.equal(niceCeiling(3.91), 4);
    assert.equal(niceCeiling(0.457), 0.5);
    assert.equal(niceCeiling(0.1), 0.1);
    assert.equal(niceCeiling(12), 12.5);
    assert.equal(niceCeiling(0), 1);
  });

  it('step curves from 0 to the largest radius, y in [0, 1], one series per run', () => {
    const spec = certifiedAccuracySpec(runs, { xTitle }) as unknown as {
      mark: { interpolate: string };
      data: { values: { run: string; radius: number; accuracy: number }[] };
      encoding: {
        x: { scale: { domain: number[] }; axis: { title: string } };
        y: { scale: { domain: number[] } };
      };
    };
    assert.equal(spec.mark.interpolate, 'step-after');
    assert.deepEqual(spec.encoding.x.scale.domain, [0, 1]);
    assert.deepEqual(spec.encoding.y.scale.domain, [0, 1]);
    assert.equal(spec.encoding.x.axis.title, xTitle);
    const a = spec.data.values.filter((v) => v.run === runs[0].label);
    assert.deepEqual(a[0], { run: runs[0].label, order: 0, radius: 0, accuracy: 0.7 });
    assert.deepEqual(a.at(-1), { run: runs[0].label, order: a.length - 1, radius: 1, accuracy: 0.1 });
    const capped = certifiedAccuracySpec(runs, { xTitle, maxRadius: 0.5 }) as unknown as typeof spec;
    assert.ok(capped.data.values.every((v) => v.radius <= 0.5));
    const legends = (legend: 'none' | 'right') => {
      const s = certifiedAccuracySpec(runs, { xTitle, legend }) as unknown as {
        encoding: { color: { legend: { orient: string } | null } };
      };
      return s.encoding.color.legend;
    };
    assert.equal(legends('none'), null);
    assert.equal(legends('right')?.orient, 'right');
  });

  it('wraps a long title at spaces instead of letting the figure clip it', () => {
    assert.equal(wrapTitle('CIFAR-10, sigma 0.25', 40), 'CIFAR-10, sigma 0.25');
    const long = 'Fashion-MNIST, RS vs Smooth-Mean (9 patches) across sigma (500 images, n = 1,000)';
    const lines = wrapTitle(long, 40);
    assert.ok(Array.isArray(lines) && lines.length === 3, JSON.stringify(lines));
    assert.ok(lines.every((l) => l.length <= 40));
    assert.equal(lines.join(' '), long);
    const spec = certifiedAccuracySpec(runs, { xTitle, title: long }) as unknown as {
      title: { text: unknown };
    };
    assert.ok(Array.isArray(spec.title.text), 'a long title becomes several lines');
  });

  it('refuses what it cannot draw', () => {
    const predict = { label: 'p', outcomes: outcomes(readLog(fixture('predict.tsv'))) };
    assert.throws(() => certifiedAccuracySpec([predict], { xTitle }), /PREDICT log has no radii/);
    assert.throws(() => certifiedAccuracySpec([{ label: 'e', outcomes: [] }], { xTitle }), /no inputs/);
    assert.throws(() => certifiedAccuracySpec([runs[0], runs[0]], { xTitle }), /same label/);
    assert.throws(() => plotFormat('fig.pdf'), UsageError);
    assert.throws(() => parseLegendPosition('middle'), /unknown legend position 'middle'/);
    assert.equal(plotFormat('out/Fig.PNG'), 'png');
  });
});

describe('plot: fonts', () => {
  it('Helvetica fallback metrics', () => {
    assert.equal(HELVETICA_METRICS.width(' '), 0.278);
    assert.equal(HELVETICA_METRICS.width('~'), 0.584);
    assert.ok(Math.abs(HELVETICA_METRICS.width('0.25') - (3 * 0.556 + 0.278)) < 1e-12);
  });

  it('a font file named by the environment must exist', () => {
    const saved = process.env[FONT_ENV];
    process.env[FONT_ENV] = join(tmp, 'missing.ttf');
    try {
      assert.throws(() => findPlotFont(), /SMOOTH_REDUCE_FONT=.*missing\.ttf: no such file/);
    } finally {
      if (saved === undefined) delete process.env[FONT_ENV];
      else process.env[FONT_ENV] = saved;
    }
  });

  it('reads advance widths of the system font', { skip: NO_FONT }, () => {
    const metrics = readFontMetrics(font!.path);
    assert.ok(metrics.family.length > 0);
    assert.ok(metrics.width('MMMM') > metrics.width('iiii'));
    assert.ok(metrics.width('0') > 0.3 && metrics.width('0') < 0.8, `${metrics.width('0')} em`);
  });

  it('resvg draws text with that font alone', { skip: NO_FONT }, async () => {
    const svg =
      '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><rect width="200" height="40" fill="white"/>' +
      '<text x="5" y="30" font-family="NoSuchFamily, sans-serif" font-size="24">Certified</text></svg>';
    const { data, info } = await sharp(renderPng(svg, font!, 1))
      .greyscale()
      .raw()
      .toBuffer({ resolveWithObject: true });
    assert.equal(info.width, 200);
    const dark = data.filter((v) => v < 128).length;
    assert.ok(dark > 100, `only ${dark} dark pixels: the text was not drawn`);
  });
});

describe('plot: rendering', () => {
  it('SVG has the legend labels and axis titles', async () => {
    const path = join(tmp, 'fig.svg');
    const written = await writePlot(runs, path, { xTitle, title: 'CIFAR-10 & friends' });
    assert.equal(written.format, 'svg');
    assert.deepEqual([written.width, written.height], [560, 360]);
    const svg = readFileSync(path, 'utf8');
    assert.match(svg, /^<svg[^>]* width="560" height="360"/);
    for (const text of [
      'Smooth-Mean (9 patches, correlated)',
      'Randomized smoothing',
      'L2 radius (input space)',
      'Certified accuracy',
      'CIFAR-10 &amp; friends',
    ]) {
      assert.ok(svg.includes(`>${text}</text>`), text);
    }
  });

  it('PNG decodes to the expected size', { skip: NO_FONT }, async () => {
    const path = join(tmp, 'fig.png');
    const written = await writePlot(runs, path, { xTitle });
    const meta = await sharp(path).metadata();
    assert.equal(meta.format, 'png');
    assert.deepEqual([meta.width, meta.height], [1120, 720]);
    assert.deepEqual([written.width, written.height], [1120, 720]);
    const small = join(tmp, 'small.png');
    await writePlot(runs, small, { xTitle, width: 400, height: 300, scale: 1.5 });
    const m2 = await sharp(small).metadata();
    assert.deepEqual([m2.width, m2.height], [600, 450]);
  });

  it('text is laid out with the font metrics given (a wider font moves the top-right legend left)', async () => {
    const spec = certifiedAccuracySpec(runs, { xTitle, legend: 'top-right' });
    const legendX = async (em: number) => {
      const svg = await renderSvg(spec, { family: 'test', width: (t) => t.length * em });
      const m = /role-legend"[^>]*><g transform="translate\(([\d.]+),/.exec(svg);
      assert.ok(m, 'legend group');
      assert.match(svg, /width="560" height="360"/);
      return Number(m[1]);
    };
    const narrow = await legendX(0.5);
    const wide = await legendX(0.7);
    // the longest label has 35 characters at 12 px: 0.2 em wider moves it by about 84 px
    assert.ok(narrow - wide > 70 && narrow - wide < 100, `${narrow} vs ${wide}`);
  });

  it("Cohen et al.'s CIFAR-10 curves", { skip: COHEN_SKIP }, async () => {
    const sigmas = ['0.12', '0.25', '0.50', '1.00'];
    const cohen = sigmas.map((s) => ({
      label: `σ = ${s}`,
      outcomes: outcomes(readLog(cohenLog(`certify/cifar10/resnet110/noise_${s}/test/sigma_${s}`))),
    }));
    const path = join(tmp, 'cohen.svg');
    await writePlot(cohen, path, { xTitle, title: 'CIFAR-10, ResNet-110' });
    const svg = readFileSync(path, 'utf8');
    for (const s of sigmas) assert.ok(svg.includes(`>σ = ${s}</text>`), s);
    // the axis runs to 4, just past their largest radius (3.56 at sigma = 1)
    assert.ok(svg.includes('>4.0</text>'));
  });
});

describe('plot: interval bands', () => {
  type BandSpec = {
    layer: {
      mark: { type: string; opacity?: number; interpolate: string };
      data?: { values: { run: string; radius: number; low: number; high: number }[] };
    }[];
  };

  it('an area of Clopper-Pearson intervals under each curve, one point per radius', () => {
    const spec = certifiedAccuracySpec(runs, { xTitle, bands: 0.95 }) as unknown as BandSpec;
    const [band, line] = spec.layer;
    assert.equal(band.mark.type, 'area');
    assert.equal(band.mark.interpolate, 'step-after');
    assert.ok((band.mark.opacity as number) < 0.5);
    assert.equal(line.mark.type, 'line');
    const a = (band.data as NonNullable<typeof band.data>).values.filter((v) => v.run === runs[0].label);
    assert.deepEqual(
      a.map((v) => v.radius),
      [0, 0.1, 0.25, 0.5, 0.75, 1],
    );
    // just after 0, run-a is right and certified on 6 of 10 inputs; at 1, on 1 of 10:
    // /usr/bin/python3 -c "from statsmodels.stats.proportion import proportion_confint as c;
    //   print(c(6,10,method='beta'), c(1,10,method='beta'))"
    const near = (x: number, y: number) => assert.ok(Math.abs(x - y) < 1e-10, `${x} vs ${y}`);
    near(a[0].low, 0.26237807660694507);
    near(a[0].high, 0.8784477418801728);
    near(a[5].low, 0.0025285785444617848);
    near(a[5].high, 0.4450161170281953);
    assert.ok(!('layer' in certifiedAccuracySpec(runs, { xTitle })), 'no bands unless asked');
  });

  it('--group: runs in groups share a colour and differ by dash, under one legend', async () => {
    const four = ['ours, sigma 0.25', 'theirs, sigma 0.25', 'ours, sigma 0.5', 'theirs, sigma 0.5'].map(
      (label, i) => ({ label, outcomes: runs[i % 2].outcomes }),
    );
    const path = join(tmp, 'grouped.svg');
    await writePlot(four, path, { xTitle, group: 2 });
    const svg = readFileSync(path, 'utf8');
    const strokes = [
      ...svg.matchAll(
        /aria-roledescription="line mark" d="[^"]+" stroke="(#[0-9a-f]{6})" stroke-width="2" stroke-dasharray="([^"]+)"/g,
      ),
    ].map((m) => [m[1], m[2]]);
    assert.equal(strokes.length, 4, svg.slice(0, 200));
    const [a, b, c, d] = strokes;
    assert.equal(a[0], b[0], 'a group shares its colour');
    assert.equal(c[0], d[0]);
    assert.notEqual(a[0], c[0], 'groups differ in colour');
    assert.notEqual(a[1], b[1], 'within a group, the dash differs');
    assert.equal(a[1], c[1], 'the same member of each group has the same dash');
    for (const label of four.map((r) => r.label))
      assert.equal(svg.split(`>${label}</text>`).length - 1, 1, `${label} once in the legend`);
    assert.throws(
      () => certifiedAccuracySpec(four, { xTitle, group: 1.5 }),
      /--group must be a whole number/,
    );
  });

  it('drawn in the SVG, in the runs’ colours, with one legend', async () => {
    const path = join(tmp, 'bands.svg');
    await writePlot(runs, path, { xTitle, bands: 0.95 });
    const svg = readFileSync(path, 'utf8');
    const areas = [
      ...svg.matchAll(/aria-roledescription="area mark" d="([^"]+)" fill="(#[0-9a-f]{6})" opacity="0\.15"/g),
    ];
    assert.equal(areas.length, 2);
    assert.notEqual(areas[0][2], areas[1][2]);
    for (const [, d] of areas) assert.ok(d.split(/[ML]/).length > 8, 'a band, not a point');
    for (const label of runs.map((r) => r.label)) {
      assert.equal(svg.split(`>${label}</text>`).length - 1, 1, `${label} once in the legend`);
    }
    await writePlot(runs, path, { xTitle });
    assert.ok(!readFileSync(path, 'utf8').includes('area mark'));
  });
});
