/** Small SVG charts for the page: a vote histogram and a line of pA's lower bound against n. */
const SVG = 'http://www.w3.org/2000/svg';

function el<K extends keyof SVGElementTagNameMap>(
  name: K,
  attrs: Record<string, string | number>,
  text?: string,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Vote counts per class as horizontal bars, the leading class darker. */
export function histogram(svg: SVGSVGElement, counts: ArrayLike<number>, names: string[]): void {
  const rowH = 13;
  const left = 78;
  const width = 260;
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${width} ${rowH * counts.length + 4}`);
  let total = 0;
  let top = 0;
  for (let c = 0; c < counts.length; c++) {
    total += counts[c];
    if (counts[c] > counts[top]) top = c;
  }
  for (let c = 0; c < counts.length; c++) {
    const y = 2 + c * rowH;
    const w = total > 0 ? ((width - left - 40) * counts[c]) / total : 0;
    svg.append(el('text', { x: left - 4, y: y + 9, 'text-anchor': 'end' }, names[c] ?? String(c)));
    svg.append(el('rect', { x: left, y, width: w, height: rowH - 3, class: c === top ? 'bar top' : 'bar' }));
    svg.append(el('text', { x: left + w + 3, y: y + 9 }, String(counts[c])));
  }
}

/** pA lower bound (y, 0..1) against samples drawn (x, 0..n), with the 1/2 line below which RS abstains. */
export function boundPlot(svg: SVGSVGElement, points: [number, number][], n: number): void {
  const w = 260;
  const h = 120;
  const pad = { l: 30, r: 8, t: 6, b: 22 };
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  const x = (v: number) => pad.l + ((w - pad.l - pad.r) * v) / Math.max(1, n);
  const y = (v: number) => h - pad.b - (h - pad.t - pad.b) * v;
  svg.append(el('line', { x1: pad.l, y1: y(0), x2: w - pad.r, y2: y(0), class: 'axis' }));
  svg.append(el('line', { x1: pad.l, y1: y(0), x2: pad.l, y2: y(1), class: 'axis' }));
  svg.append(el('line', { x1: pad.l, y1: y(0.5), x2: w - pad.r, y2: y(0.5), class: 'half' }));
  for (const v of [0, 0.5, 1])
    svg.append(el('text', { x: pad.l - 4, y: y(v) + 3, 'text-anchor': 'end' }, String(v)));
  svg.append(el('text', { x: x(n), y: h - 8, 'text-anchor': 'end' }, `n = ${n}`));
  svg.append(el('text', { x: pad.l, y: h - 8 }, '0'));
  if (points.length > 0) {
    const d = points
      .map(([px, py], i) => `${i === 0 ? 'M' : 'L'}${x(px).toFixed(1)},${y(py).toFixed(1)}`)
      .join('');
    svg.append(el('path', { d, class: 'line' }));
  }
}
