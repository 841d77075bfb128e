/**
 * The font of the figures. The PNG renderer (resvg) draws text only with a font file it can load,
 * and vega, without a canvas, lays text out with crude width estimates; so we find one TrueType /
 * OpenType font, give resvg that file alone (the same picture on every machine that has it) and
 * lay text out with that font's own advance widths, read from its `hmtx` and `cmap` tables.
 *
 * Where the font comes from, first found wins:
 *  1. the environment variable SMOOTH_REDUCE_FONT (a .ttf / .otf / .ttc file);
 *  2. the npm package `dejavu-fonts-ttf`, if installed;
 *  3. well-known system files (DejaVu Sans, Liberation Sans, Arial) and then any regular sans
 *     font in the usual font folders (Debian's fonts-dejavu-core provides DejaVu Sans).
 * SVG output works without any of them (viewers bring their own fonts); PNG output needs one.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { UsageError } from '../../core/errors.js';

export const FONT_ENV = 'SMOOTH_REDUCE_FONT';

export interface FontMetrics {
  /** the family name in the font's `name` table */
  family: string;
  /** width of a text at font size 1 (in ems), without kerning */
  width(text: string): number;
}

export interface PlotFont {
  path: string;
  metrics: FontMetrics;
}

const SYSTEM_CANDIDATES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf',
  '/usr/share/fonts/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/TTF/DejaVuSans.ttf',
  '/usr/share/fonts/ttf-dejavu/DejaVuSans.ttf',
  '/usr/local/share/fonts/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
  '/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf',
  '/System/Library/Fonts/Supplemental/Arial.ttf',
  '/Library/Fonts/Arial.ttf',
  'C:\\Windows\\Fonts\\arial.ttf',
];

const FONT_DIRS = [
  '/usr/share/fonts',
  '/usr/local/share/fonts',
  join(homedir(), '.fonts'),
  join(homedir(), '.local/share/fonts'),
  '/System/Library/Fonts',
  '/Library/Fonts',
  'C:\\Windows\\Fonts',
];

export const NO_FONT_HINT =
  'no font found to draw the text of a PNG: install one (Debian/Ubuntu: apt-get install fonts-dejavu-core; ' +
  `or npm install dejavu-fonts-ttf), or set ${FONT_ENV}=/path/to/font.ttf, or write an .svg instead`;

let cached: PlotFont | null | undefined;

/** The font for figures, or null when this machine has none we can use. */
export function findPlotFont(): PlotFont | null {
  const env = process.env[FONT_ENV];
  if (env) {
    if (!existsSync(env)) throw new UsageError(`${FONT_ENV}=${env}: no such file`);
    return { path: env, metrics: readFontMetrics(env) };
  }
  if (cached !== undefined) return cached;
  cached = null;
  for (const path of [packageFont(), ...SYSTEM_CANDIDATES, ...scanFontDirs()]) {
    if (!path || !existsSync(path)) continue;
    try {
      cached = { path, metrics: readFontMetrics(path) };
      break;
    } catch {
      // not a font we can read: try the next one
    }
  }
  return cached;
}

/** Like findPlotFont, but a UsageError with what to install when there is none. */
export function requirePlotFont(): PlotFont {
  const font = findPlotFont();
  if (!font) throw new UsageError(NO_FONT_HINT);
  return font;
}

function packageFont(): string | null {
  try {
    const require = createRequire(import.meta.url);
    return join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf', 'DejaVuSans.ttf');
  } catch {
    return null;
  }
}

/** Regular sans fonts first, then any upright non-symbol font, in the usual folders. */
function scanFontDirs(): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(dir, name);
      if (/\.(ttf|otf)$/i.test(name)) found.push(path);
      else if (depth < 4 && !name.includes('.')) {
        try {
          if (statSync(path).isDirectory()) walk(path, depth + 1);
        } catch {
          // unreadable entry
        }
      }
    }
  };
  for (const dir of FONT_DIRS) walk(dir, 0);
  const styled =
    /(bold|italic|oblique|light|thin|black|heavy|medium|semi|condensed|narrow|mono|symbol|emoji|math)/i;
  const upright = found.filter((p) => !styled.test(p.split(/[\\/]/).pop() ?? ''));
  const sans = upright.filter((p) => /sans/i.test(p) && !/serif/i.test(p.replace(/sans-?serif/i, '')));
  return [...new Set([...sans, ...upright])];
}

/**
 * Reads family name and advance widths of a TrueType / OpenType font (or the first font of a
 * collection). Throws on anything else (e.g. WOFF).
 */
export function readFontMetrics(path: string): FontMetrics {
  const buf = readFileSync(path);
  try {
    return parseSfnt(buf);
  } catch (e) {
    throw new UsageError(`cannot use font ${path}: ${(e as Error).message}`);
  }
}

function parseSfnt(buf: Buffer): FontMetrics {
  const u16 = (o: number) => buf.readUInt16BE(o);
  const u32 = (o: number) => buf.readUInt32BE(o);
  let base = 0;
  if (buf.toString('latin1', 0, 4) === 'ttcf') base = u32(12);
  const version = u32(base);
  if (version !== 0x00010000 && buf.toString('latin1', base, base + 4) !== 'OTTO' && version !== 0x74727565) {
    throw new Error('not a TrueType/OpenType font');
  }
  const tables = new Map<string, number>();
  const numTables = u16(base + 4);
  for (let i = 0; i < numTables; i++) {
    const rec = base + 12 + 16 * i;
    tables.set(buf.toString('latin1', rec, rec + 4), u32(rec + 8));
  }
  const table = (tag: string) => {
    const o = tables.get(tag);
    if (o === undefined) throw new Error(`no '${tag}' table`);
    return o;
  };
  const unitsPerEm = u16(table('head') + 18);
  const numberOfHMetrics = u16(table('hhea') + 34);
  const hmtx = table('hmtx');
  const advance = (glyph: number) => u16(hmtx + 4 * Math.min(glyph, numberOfHMetrics - 1));

  // character -> glyph, from the best Unicode subtable (format 12, else format 4)
  const cmap = table('cmap');
  let sub4 = -1;
  let sub12 = -1;
  for (let i = 0; i < u16(cmap + 2); i++) {
    const rec = cmap + 4 + 8 * i;
    const platform = u16(rec);
    const encoding = u16(rec + 2);
    const offset = cmap + u32(rec + 4);
    const unicode = platform === 0 || (platform === 3 && (encoding === 1 || encoding === 10));
    if (!unicode) continue;
    const format = u16(offset);
    if (format === 12 && sub12 < 0) sub12 = offset;
    if (format === 4 && sub4 < 0) sub4 = offset;
  }
  const glyphOf = (c: number): number => {
    if (sub12 >= 0) {
      const groups = u32(sub12 + 12);
      for (let g = 0; g < groups; g++) {
        const rec = sub12 + 16 + 12 * g;
        if (c >= u32(rec) && c <= u32(rec + 4)) return u32(rec + 8) + (c - u32(rec));
      }
      return 0;
    }
    if (sub4 < 0 || c > 0xffff) return 0;
    const segX2 = u16(sub4 + 6);
    const ends = sub4 + 14;
    const starts = ends + segX2 + 2;
    const deltas = starts + segX2;
    const ranges = deltas + segX2;
    for (let s = 0; s < segX2; s += 2) {
      if (c > u16(ends + s)) continue;
      const start = u16(starts + s);
      if (c < start) return 0;
      const delta = u16(deltas + s);
      const range = u16(ranges + s);
      if (range === 0) return (c + delta) & 0xffff;
      const glyph = u16(ranges + s + range + 2 * (c - start));
      return glyph === 0 ? 0 : (glyph + delta) & 0xffff;
    }
    return 0;
  };

  const widths = new Map<number, number>();
  const charWidth = (c: number) => {
    let w = widths.get(c);
    if (w === undefined) {
      w = advance(glyphOf(c)) / unitsPerEm;
      widths.set(c, w);
    }
    return w;
  };
  return {
    family: familyName(buf, tables.get('name')) ?? 'sans-serif',
    width: (text: string) => {
      let w = 0;
      for (const ch of text) w += charWidth(ch.codePointAt(0) as number);
      return w;
    },
  };
}

function familyName(buf: Buffer, name: number | undefined): string | null {
  if (name === undefined) return null;
  const count = buf.readUInt16BE(name + 2);
  const strings = name + buf.readUInt16BE(name + 4);
  let best: { score: number; text: string } | null = null;
  for (let i = 0; i < count; i++) {
    const rec = name + 6 + 12 * i;
    const platform = buf.readUInt16BE(rec);
    const id = buf.readUInt16BE(rec + 6);
    if (id !== 1 && id !== 16) continue;
    const start = strings + buf.readUInt16BE(rec + 10);
    const bytes = buf.subarray(start, start + buf.readUInt16BE(rec + 8));
    let text: string;
    if ((platform === 3 || platform === 0) && bytes.length % 2 === 0)
      text = Buffer.from(bytes).swap16().toString('utf16le');
    else if (platform === 1) text = bytes.toString('latin1');
    else continue;
    // the typographic family (16) over the legacy one (1), Windows/Unicode over Mac
    const score = (id === 16 ? 2 : 0) + (platform === 1 ? 0 : 1);
    if (text && (!best || score > best.score)) best = { score, text };
  }
  return best?.text ?? null;
}

/**
 * Helvetica's advance widths (per 1000 em, Adobe's AFM) for printable ASCII: the layout metrics of
 * an SVG written without any font file at hand.
 */
const HELVETICA_ASCII = [
  278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556,
  556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278,
  500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469,
  556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500,
  278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

export const HELVETICA_METRICS: FontMetrics = {
  family: 'Helvetica',
  width: (text: string) => {
    let w = 0;
    for (const ch of text) {
      const c = ch.codePointAt(0) as number;
      w += (c >= 32 && c < 127 ? HELVETICA_ASCII[c - 32] : 556) / 1000;
    }
    return w;
  },
};
