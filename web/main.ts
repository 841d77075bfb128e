/**
 * The web page: pick, upload or draw an image, certify it with RS, Smooth-Max and Smooth-Mean in the
 * browser (onnxruntime-web and the project's own TypeScript core: the same SmoothedClassifier,
 * reducers, noise and statistics as the CLI) or on the server through the HTTP API, and watch the
 * votes and the lower bound on pA as samples arrive. Same seed and options: the same certificate in
 * both places, and as `smooth-reduce certify` on the same image.
 */
import { argmax } from '../src/core/smooth.js';
import { clopperPearsonLower } from '../src/core/stats.js';
import type { Shape3 } from '../src/core/shape.js';
import { rgbToPlanar } from '../src/data/pixels.js';
import type { Classifier } from '../src/models/classifier.js';
import { DenoisedClassifier } from '../src/models/denoiser.js';
import type { DenoiserCard } from '../src/models/denoiser-card.js';
import { chooseSigma } from '../src/models/sigma.js';
import { PatchReducer } from '../src/reduce/reducer.js';
import type { SampleInfo } from '../src/serve/samples.js';
import {
  type SamplingProgress,
  type SmoothingOptions,
  SmoothedClassifier,
  defaultSmoothingOptions,
} from '../src/smoothed-classifier.js';
import { boundPlot, histogram } from './charts.js';
import { WebOnnxClassifier } from './ort-classifier.js';
import { WebOnnxDenoiser } from './ort-denoiser.js';

interface ModelInfo {
  id: string;
  sha256: string;
  inputShape: [number, number, number];
  pixelRange: [number, number];
  classes: string[];
  trainingSigma: number | null;
  url: string;
  card: { input: { normalization: unknown } };
}

interface DenoiserInfo {
  id: string;
  sha256: string;
  sigma: number | null;
  url: string;
  card: DenoiserCard;
}

type MethodId = 'rs' | 'max' | 'mean';
const METHODS: { id: MethodId; label: string }[] = [
  { id: 'rs', label: 'RS' },
  { id: 'max', label: 'Smooth-Max' },
  { id: 'mean', label: 'Smooth-Mean' },
];

/** What a certification shows in the table, whichever side computed it. */
interface Outcome {
  prediction: number;
  radius: number;
  radiusSmoothing: number;
  pALower: number;
  nA: number;
  samples: number;
  counts: ArrayLike<number>;
  seconds: number;
}

/** noisy samples per model call in the page (the progress view updates after each) */
const BATCH = 50;
const NOISY_SHOWN = 6;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const modelSelect = $<HTMLSelectElement>('model');
const denoiserSelect = $<HTMLSelectElement>('denoiser');
const statusLine = $<HTMLParagraphElement>('status');
const certifyButton = $<HTMLButtonElement>('certify');

let models: ModelInfo[] = [];
let denoisers: DenoiserInfo[] = [];
let samples: SampleInfo[] = [];
let pixels: Float32Array | null = null;
const classifiers = new Map<string, Promise<WebOnnxClassifier>>();
const denoiserBytes = new Map<string, Promise<ArrayBuffer>>();

/** The denoiser chosen for the page, or null. */
const chosenDenoiser = (): DenoiserInfo | null =>
  denoisers.find((d) => d.id === denoiserSelect.value) ?? null;

/** The chosen denoiser at `sigma` (its bytes fetched once; a diffusion model's step depends on sigma). */
async function webDenoiser(d: DenoiserInfo, sigma: number): Promise<WebOnnxDenoiser> {
  let bytes = denoiserBytes.get(d.id);
  if (!bytes) {
    bytes = fetch(d.url).then((r) => r.arrayBuffer());
    denoiserBytes.set(d.id, bytes);
  }
  return WebOnnxDenoiser.load(await bytes, d.card, sigma);
}

const model = (): ModelInfo => models.find((m) => m.id === modelSelect.value) ?? models[0];
const shapeOf = (m: ModelInfo): Shape3 => ({
  channels: m.inputShape[0],
  height: m.inputShape[1],
  width: m.inputShape[2],
});

function say(text: string): void {
  statusLine.textContent = text;
}

async function getJson<T>(url: string, init?: RequestInit): Promise<T> {
  const r = await fetch(url, init);
  const body = (await r.json()) as T & { message?: string };
  if (!r.ok) throw new Error(body.message ?? `${url}: HTTP ${r.status}`);
  return body;
}

function classifier(m: ModelInfo): Promise<WebOnnxClassifier> {
  let c = classifiers.get(m.id);
  if (!c) {
    c = fetch(m.url)
      .then((r) => r.arrayBuffer())
      .then((bytes) =>
        WebOnnxClassifier.load(
          bytes,
          shapeOf(m),
          m.classes.length,
          m.pixelRange,
          m.card.input.normalization != null,
        ),
      );
    classifiers.set(m.id, c);
  }
  return c;
}

// ---- the image ------------------------------------------------------------------------------

/** Draws channel-planar [0, 1] pixels (1 or 3 channels) into a canvas of the image's size. */
function paint(canvas: HTMLCanvasElement, data: Float32Array, shape: Shape3, offset = 0): void {
  const { channels, height, width } = shape;
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(width, height);
  const plane = height * width;
  const [lo, hi] = model().pixelRange;
  const byte = (v: number) => Math.max(0, Math.min(255, Math.round(((v - lo) / (hi - lo)) * 255)));
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++)
      img.data[4 * i + c] = byte(data[offset + (channels === 1 ? 0 : c) * plane + i]);
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** The model-size pixels of an image source, resized by the canvas when its size differs. */
function pixelsOf(source: CanvasImageSource, width: number, height: number): Float32Array {
  const m = model();
  const shape = shapeOf(m);
  const canvas = document.createElement('canvas');
  canvas.width = shape.width;
  canvas.height = shape.height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(source, 0, 0, width, height, 0, 0, shape.width, shape.height);
  const rgba = ctx.getImageData(0, 0, shape.width, shape.height).data;
  const x = rgbToPlanar(rgba, shape.width, shape, 0, 0, 4);
  const [lo, hi] = m.pixelRange;
  if (lo !== 0 || hi !== 1) for (let i = 0; i < x.length; i++) x[i] = lo + x[i] * (hi - lo);
  return x;
}

function setImage(x: Float32Array, description: string): void {
  pixels = x;
  const shape = shapeOf(model());
  paint($('input-view'), x, shape);
  $('input-size').textContent = `${shape.width}x${shape.height}, ${description}`;
  drawGrid();
  certifyButton.disabled = false;
  say(`Image: ${description}. Press Certify.`);
}

/** The resized image Smooth-Reduce smooths (correlated noise) and the patches cut from it. */
function drawGrid(): void {
  if (!pixels) return;
  const shape = shapeOf(model());
  const options = {
    ...defaultSmoothingOptions,
    method: 'mean' as const,
    stride: Number($<HTMLSelectElement>('stride').value),
  };
  const plan = new PatchReducer(options, shape, shape).prepare(pixels, 0);
  const size = { channels: shape.channels, height: shape.height + 4, width: shape.width + 4 };
  const canvas = $<HTMLCanvasElement>('grid-view');
  const small = document.createElement('canvas');
  paint(small, plan.center, size);
  const scale = 5;
  canvas.width = size.width * scale;
  canvas.height = size.height * scale;
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
  const colours = ['#ff5a5a', '#ffd23f', '#3fd2ff', '#7dff6b', '#ff7de9'];
  plan.positions.forEach((p, k) => {
    ctx.strokeStyle = colours[k % colours.length];
    ctx.lineWidth = 1;
    ctx.strokeRect(
      p.left * scale + 0.5 + (k % 3),
      p.top * scale + 0.5 + (k % 3),
      shape.width * scale - 1,
      shape.height * scale - 1,
    );
  });
  $('grid-size').textContent =
    `${size.width}x${size.height}, ${plan.positions.length} patches of ${shape.width}x${shape.height}`;
}

function renderSamples(): void {
  const m = model();
  const list = $('samples');
  list.replaceChildren();
  for (const s of samples.filter((x) => x.models.includes(m.id))) {
    const button = document.createElement('button');
    button.type = 'button';
    button.setAttribute('role', 'listitem');
    button.setAttribute('aria-pressed', 'false');
    button.dataset.sample = `${s.set}/${s.index}`;
    const img = document.createElement('img');
    img.src = s.url;
    img.alt = `${s.set} test image ${s.index}: ${s.className}`;
    button.title = img.alt;
    button.append(img);
    button.addEventListener('click', async () => {
      for (const b of list.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b === button));
      await img.decode();
      setImage(pixelsOf(img, img.naturalWidth, img.naturalHeight), `${s.set} #${s.index} (${s.className})`);
    });
    list.append(button);
  }
}

/** The denoisers that fit the model (same channels and pixel range), the chosen one kept if it fits. */
function offerDenoisers(m: ModelInfo): void {
  const kept = denoiserSelect.value;
  denoiserSelect.replaceChildren(new Option('none', ''));
  const fits = denoisers.filter(
    (d) =>
      d.card.input.shape[0] === m.inputShape[0] &&
      d.card.input.pixelRange[0] === m.pixelRange[0] &&
      d.card.input.pixelRange[1] === m.pixelRange[1],
  );
  for (const d of fits) denoiserSelect.append(new Option(d.id, d.id));
  denoiserSelect.value = fits.some((d) => d.id === kept) ? kept : '';
}

/** The CLI's and the API's rule: the denoiser's sigma, else the training sigma, else 0.25 (also for a card saying 0). */
function pageSigma(m: ModelInfo): number {
  const training = m.trainingSigma === null ? undefined : { sigma: m.trainingSigma };
  return chooseSigma(null, { training }, chosenDenoiser()?.card).sigma;
}

function onDenoiserChange(): void {
  $<HTMLInputElement>('sigma').value = String(pageSigma(model()));
}

function onModelChange(): void {
  const m = model();
  offerDenoisers(m);
  $<HTMLInputElement>('sigma').value = String(pageSigma(m));
  $('model-info').textContent =
    `${m.inputShape.join('x')}, ${m.classes.length} classes` +
    (m.trainingSigma !== null ? `, trained with sigma ${m.trainingSigma}` : '');
  pixels = null;
  certifyButton.disabled = true;
  renderSamples();
  for (const id of ['input-view', 'grid-view'] as const) {
    const c = $<HTMLCanvasElement>(id);
    c.getContext('2d')!.clearRect(0, 0, c.width, c.height);
  }
  say('Pick a sample, upload an image or draw one.');
}

function setUpDrawing(): void {
  const canvas = $<HTMLCanvasElement>('draw');
  const ctx = canvas.getContext('2d')!;
  const clear = () => {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  };
  clear();
  let last: [number, number] | null = null;
  const at = (e: PointerEvent): [number, number] => {
    const r = canvas.getBoundingClientRect();
    return [
      ((e.clientX - r.left) * canvas.width) / r.width,
      ((e.clientY - r.top) * canvas.height) / r.height,
    ];
  };
  canvas.addEventListener('pointerdown', (e) => {
    canvas.setPointerCapture(e.pointerId);
    last = at(e);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!last) return;
    const p = at(e);
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = 18;
    ctx.lineCap = 'round';
    ctx.beginPath();
    ctx.moveTo(...last);
    ctx.lineTo(...p);
    ctx.stroke();
    last = p;
  });
  for (const type of ['pointerup', 'pointercancel'] as const)
    canvas.addEventListener(type, () => (last = null));
  $('draw-clear').addEventListener('click', clear);
  $('draw-use').addEventListener('click', () =>
    setImage(pixelsOf(canvas, canvas.width, canvas.height), 'drawing'),
  );
}

// ---- certification ----------------------------------------------------------------------------

function formOptions(): Omit<SmoothingOptions, 'method'> {
  const num = (id: string) => Number($<HTMLInputElement>(id).value);
  return {
    ...defaultSmoothingOptions,
    sigma: num('sigma'),
    n0: num('n0'),
    n: num('n'),
    alpha: num('alpha'),
    seed: num('seed'),
    stride: Number($<HTMLSelectElement>('stride').value),
    batch: BATCH,
  };
}

/** Per-method panel: live histogram and bound plot. */
function panels(): Record<MethodId, { status: HTMLElement; votes: SVGSVGElement; bound: SVGSVGElement }> {
  const box = $('methods');
  box.replaceChildren();
  const out = {} as Record<MethodId, { status: HTMLElement; votes: SVGSVGElement; bound: SVGSVGElement }>;
  for (const { id, label } of METHODS) {
    const div = document.createElement('div');
    div.className = 'method';
    div.innerHTML =
      `<h3>${label}</h3><p class="hint" id="progress-${id}"></p>` +
      `<svg id="votes-${id}" role="img" aria-label="${label}: votes per class"></svg>` +
      `<svg id="bound-${id}" role="img" aria-label="${label}: lower bound on pA against samples drawn"></svg>`;
    box.append(div);
    out[id] = {
      status: div.querySelector('p')!,
      votes: div.querySelector(`#votes-${id}`)!,
      bound: div.querySelector(`#bound-${id}`)!,
    };
  }
  return out;
}

const ROWS: [string, string][] = [
  ['class', 'class'],
  ['radius', 'radius (input space)'],
  ['radiusSmoothing', 'radius (smoothing space)'],
  ['pALower', 'pA lower bound'],
  ['votes', 'votes for the class / samples'],
  ['seconds', 'seconds'],
];

function resetTable(): void {
  const body = $('results').querySelector('tbody')!;
  body.replaceChildren();
  for (const [key, label] of ROWS) {
    const tr = document.createElement('tr');
    tr.innerHTML =
      `<th scope="row">${label}</th>` + METHODS.map((m) => `<td id="r-${m.id}-${key}"></td>`).join('');
    body.append(tr);
  }
}

function showOutcome(method: MethodId, o: Outcome, names: string[]): void {
  const cell = (key: string, text: string, value: number) => {
    const td = $(`r-${method}-${key}`);
    td.textContent = text;
    td.dataset.value = String(value);
  };
  cell('class', o.prediction < 0 ? 'abstain' : `${names[o.prediction]} (${o.prediction})`, o.prediction);
  cell('radius', o.radius.toFixed(4), o.radius);
  cell('radiusSmoothing', o.radiusSmoothing.toFixed(4), o.radiusSmoothing);
  cell('pALower', o.pALower.toFixed(4), o.pALower);
  cell('votes', `${o.nA} / ${o.samples}`, o.nA);
  cell('seconds', o.seconds.toFixed(2), o.seconds);
}

/** Records the first model inputs of the first call: the noisy samples, as the model sees them. */
function recording(f: Classifier, keep: (batch: Float32Array, count: number) => void): Classifier {
  const { channels, height, width } = f.inputShape;
  let first = true;
  return {
    inputShape: f.inputShape,
    numClasses: f.numClasses,
    pixelRange: f.pixelRange,
    run(batch, count) {
      if (first) {
        first = false;
        const shown = Math.min(count, NOISY_SHOWN);
        keep(batch.slice(0, shown * channels * height * width), shown);
      }
      return f.run(batch, count);
    },
  };
}

function showNoisy(batch: Float32Array, count: number): void {
  const shape = shapeOf(model());
  const size = shape.channels * shape.height * shape.width;
  const box = $('noisy');
  box.replaceChildren();
  for (let k = 0; k < count; k++) {
    const c = document.createElement('canvas');
    c.setAttribute('role', 'img');
    c.setAttribute('aria-label', `noisy sample ${k + 1}`);
    paint(c, batch, shape, k * size);
    box.append(c);
  }
}

/** Certifies `x` with one method, showing progress in `view`: in the page, or through the API. */
type Certifier = (
  method: MethodId,
  x: Float32Array,
  options: Omit<SmoothingOptions, 'method'>,
  view: { status: HTMLElement; votes: SVGSVGElement; bound: SVGSVGElement },
  m: ModelInfo,
) => Promise<Outcome>;

const inBrowser: Certifier = async (method, x, options, view, m) => {
  const d = chosenDenoiser();
  const net = await classifier(m);
  const f = d ? new DenoisedClassifier(await webDenoiser(d, options.sigma), net) : net;
  const base = method === 'rs' ? recording(f, showNoisy) : f;
  const g = new SmoothedClassifier(base, shapeOf(m), { ...options, method });
  let cA = 0;
  const points: [number, number][] = [];
  const onProgress = (p: SamplingProgress) => {
    histogram(view.votes, p.counts, m.classes);
    if (p.phase === 'selection') {
      cA = argmax(p.counts);
      view.status.textContent = `selecting the class: ${p.drawn} / ${p.total} samples`;
    } else {
      points.push([p.drawn, clopperPearsonLower(p.counts[cA], p.drawn, options.alpha)]);
      boundPlot(view.bound, points, options.n);
      view.status.textContent = `estimating pA for ${m.classes[cA]}: ${p.drawn} / ${p.total} samples`;
    }
  };
  const t0 = performance.now();
  const c = await g.certify({ pixels: x, index: 0 }, { onProgress, chunk: BATCH });
  return { ...c, seconds: (performance.now() - t0) / 1000 };
};

const onServer: Certifier = async (method, x, options, view, m) => {
  view.status.textContent = 'certifying on the server...';
  const d = chosenDenoiser();
  const body = {
    model: m.id,
    ...(d ? { denoiser: d.id } : {}),
    pixels: Array.from(x),
    method,
    sigma: options.sigma,
    n0: options.n0,
    n: options.n,
    alpha: options.alpha,
    seed: options.seed,
    stride: options.stride,
    index: 0,
  };
  const r = await getJson<Outcome>('./v1/certify', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  histogram(view.votes, r.counts, m.classes);
  boundPlot(view.bound, [[r.samples, r.pALower]], options.n);
  return r;
};

async function certifyAll(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  if (!pixels) return;
  const form = $<HTMLFormElement>('options');
  if (!form.reportValidity()) return;
  const where = (form.elements.namedItem('where') as RadioNodeList).value as 'browser' | 'server';
  const m = model();
  const x = pixels;
  const options = formOptions();
  const views = panels();
  resetTable();
  certifyButton.disabled = true;
  document.body.dataset.state = 'running';
  try {
    for (const { id, label } of METHODS) {
      say(`${label}: certifying in ${where === 'browser' ? 'this browser' : 'the server'}...`);
      const o = await (where === 'browser' ? inBrowser : onServer)(id, x, options, views[id], m);
      showOutcome(id, o, m.classes);
      views[id].status.textContent =
        o.prediction < 0
          ? `abstains (pA lower bound ${o.pALower.toFixed(3)} < 1/2)`
          : `${m.classes[o.prediction]}, certified radius ${o.radius.toFixed(3)} (input space)`;
    }
    say(
      `Done (${where === 'browser' ? `in this browser, ${WebOnnxClassifier.threads} thread(s)` : 'on the server'}).`,
    );
    document.body.dataset.state = 'done';
  } catch (e) {
    say(`Error: ${(e as Error).message}`);
    document.body.dataset.state = 'error';
  } finally {
    certifyButton.disabled = false;
  }
}

async function start(): Promise<void> {
  say('Loading models...');
  let listed: { models: ModelInfo[]; denoisers?: DenoiserInfo[] };
  [listed, samples] = await Promise.all([
    getJson<{ models: ModelInfo[]; denoisers?: DenoiserInfo[] }>('./v1/models'),
    getJson<{ samples: SampleInfo[] }>('./v1/samples').then((r) => r.samples),
  ]);
  models = listed.models;
  denoisers = listed.denoisers ?? [];
  for (const m of models) modelSelect.append(new Option(`${m.id}`, m.id));
  modelSelect.addEventListener('change', onModelChange);
  denoiserSelect.addEventListener('change', onDenoiserChange);
  $('stride').addEventListener('change', drawGrid);
  $<HTMLInputElement>('upload').addEventListener('change', async (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (!file) return;
    try {
      const bitmap = await createImageBitmap(file);
      setImage(
        pixelsOf(bitmap, bitmap.width, bitmap.height),
        `${file.name} (${bitmap.width}x${bitmap.height})`,
      );
    } catch {
      say(`Cannot read ${file.name} as an image.`);
    }
  });
  $<HTMLFormElement>('options').addEventListener('submit', (e) => void certifyAll(e));
  setUpDrawing();
  onModelChange();
  document.body.dataset.state = 'ready';
}

start().catch((e: Error) => say(`Error: ${e.message}`));
