/**
 * Certification throughput in the browser (the web page: onnxruntime-web, WebAssembly) against
 * onnxruntime-node (the library, in this process) on the same model, image, options and thread count.
 *
 *   node --import tsx bench/browser-throughput.ts [--n 2000] [--model models/fmnist-cnn-s025]
 *
 * Needs chromium (Debian's package, or CHROMIUM_PATH). The page certifies Fashion-MNIST test image 0
 * with RS, Smooth-Max and Smooth-Mean (9 patches) in the browser; the page's own timing (the
 * "seconds" row, which includes its live charts) gives model forward passes per second. The same
 * certifications then run through SmoothedClassifier + OnnxClassifier with the thread count the
 * page used and the page's batch (50 noisy samples per call). Prints a markdown table.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { IdxDataset } from '../src/data/idx.js';
import { OnnxClassifier } from '../src/models/onnx-classifier.js';
import { createService } from '../src/serve/app.js';
import { SmoothedClassifier, defaultSmoothingOptions } from '../src/smoothed-classifier.js';
import { buildPage, findChromium } from '../test/helpers/browser.js';
import { REPO } from '../test/helpers/cli.js';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '2000' },
    model: { type: 'string', default: join(REPO, 'models', 'fmnist-cnn-s025') },
  },
});
const n = Number(args.n);
const n0 = 100;
const methods = [
  { id: 'rs', label: 'RS', copies: 1 },
  { id: 'max', label: 'Smooth-Max (9 patches)', copies: 9 },
  { id: 'mean', label: 'Smooth-Mean (9 patches)', copies: 9 },
] as const;

const chromiumPath = findChromium();
if (!chromiumPath) {
  process.stderr.write(
    'browser-throughput: no chromium found (apt-get install chromium, or set CHROMIUM_PATH)\n',
  );
  process.exit(2);
}
const tmp = mkdtempSync(join(tmpdir(), 'sr-bench-web-'));
const webRoot = join(tmp, 'web');
await buildPage(webRoot);
const service = await createService({ models: [args.model], workers: 1, webRoot });
const base = await service.app.listen({ port: 0, host: '127.0.0.1' });
const { chromium } = await import('playwright-core');
const browser = await chromium.launch({ executablePath: chromiumPath, headless: true });
const browserSeconds: Record<string, number> = {};
let threads: number;
try {
  const page = await browser.newPage();
  await page.goto(`${base}/`);
  await page.waitForSelector('body[data-state=ready]', { timeout: 60_000 });
  await page.click('#samples button >> nth=0');
  await page.fill('#n0', String(n0));
  await page.fill('#n', String(n));
  await page.selectOption('#stride', '2');
  // once to load the model and compile the WebAssembly, then measured
  for (let round = 0; round < 2; round++) {
    await page.click('#certify');
    await page.waitForSelector('body[data-state=done]', { timeout: 600_000 });
  }
  for (const m of methods)
    browserSeconds[m.id] = Number(await page.getAttribute(`#r-${m.id}-seconds`, 'data-value'));
  threads = Number(/(\d+) thread/.exec((await page.textContent('#status')) ?? '')?.[1] ?? 1);
} finally {
  await browser.close();
  await service.close();
  rmSync(tmp, { recursive: true, force: true });
}

const f = await OnnxClassifier.load(args.model, { threads });
const x = await new IdxDataset(join(REPO, 'data', 'fashion-mnist-sample', 't10k-images-idx3-ubyte.gz')).get(
  0,
);
console.log(`model ${args.model}, n0 = ${n0}, n = ${n}, ${threads} thread(s) on both sides, batch 50\n`);
console.log('| method | browser (wasm) forward/s | onnxruntime-node forward/s | browser / node |');
console.log('| :-- | --: | --: | --: |');
for (const m of methods) {
  const g = new SmoothedClassifier(f, f.inputShape, {
    ...defaultSmoothingOptions,
    method: m.id,
    stride: 2,
    n0,
    n,
    batch: 50,
  });
  await g.certify({ pixels: x.pixels, index: 0 });
  const t0 = performance.now();
  await g.certify({ pixels: x.pixels, index: 0 });
  const nodeSeconds = (performance.now() - t0) / 1000;
  const forwards = (n0 + n) * m.copies;
  const web = forwards / browserSeconds[m.id];
  const node = forwards / nodeSeconds;
  console.log(`| ${m.label} | ${web.toFixed(0)} | ${node.toFixed(0)} | ${(web / node).toFixed(2)} |`);
}
await f.dispose();
