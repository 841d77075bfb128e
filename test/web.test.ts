/**
 * The web page in a real browser (playwright-core driving Debian's chromium, headless): it loads
 * with no request outside the server, certifies a bundled sample in the browser (onnxruntime-web)
 * and shows the numbers the API gives for the same seed, certifies on the server by the switch, and
 * takes an uploaded PNG. Skipped, with a one-line reason, when no browser is installed.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { IdxDataset } from '../src/data/idx.js';
import { type Service, createService } from '../src/serve/app.js';
import { ARTIFACTS, buildPage, findChromium } from './helpers/browser.js';
import { REPO, SAMPLE } from './helpers/cli.js';
import { affineImageModel } from './helpers/onnx-models.js';

const chromiumPath = findChromium();
const MODEL = join(REPO, 'models', 'fmnist-cnn-s025');
const METHODS = ['rs', 'max', 'mean'] as const;
const OPTIONS = { n0: 20, n: 100, seed: 5, stride: 4, sigma: 0.25, alpha: 0.001 };

describe(
  'web page in chromium',
  { skip: chromiumPath ? false : 'no chromium found (apt-get install chromium, or set CHROMIUM_PATH)' },
  () => {
    const tmp = mkdtempSync(join(tmpdir(), 'sr-web-'));
    let service: Service;
    let base: string;
    let browser: import('playwright-core').Browser;
    let page: import('playwright-core').Page;
    const outside: string[] = [];
    const errors: string[] = [];

    before(async () => {
      const webRoot = join(tmp, 'web');
      await buildPage(webRoot);
      // a denoiser that changes the input (0.9 x + 0.05), so that its certificates differ from the model's alone
      const shrink = join(tmp, 'shrink');
      mkdirSync(shrink, { recursive: true });
      writeFileSync(join(shrink, 'model.onnx'), affineImageModel(1, 0.9, 0.05));
      writeFileSync(
        join(shrink, 'model.json'),
        JSON.stringify({
          format: 'smooth-reduce-denoiser-card',
          version: 1,
          name: 'shrink',
          kind: 'direct',
          input: {
            layout: 'NCHW',
            shape: [1, 28, 28],
            anySize: true,
            pixelRange: [0, 1],
            channelOrder: 'gray',
          },
          sigma: 0.25,
        }),
      );
      service = await createService({ models: [MODEL], denoisers: [shrink], workers: 1, webRoot });
      base = await service.app.listen({ port: 0, host: '127.0.0.1' });
      const { chromium } = await import('playwright-core');
      browser = await chromium.launch({ executablePath: chromiumPath!, headless: true });
      page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      page.on('request', (r) => {
        if (!r.url().startsWith(base) && !r.url().startsWith('data:') && !r.url().startsWith('blob:'))
          outside.push(r.url());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${base}/`);
      await page.waitForSelector('body[data-state=ready]', { timeout: 30_000 });
      mkdirSync(ARTIFACTS, { recursive: true });
    });
    after(async () => {
      await browser?.close();
      await service?.close();
      rmSync(tmp, { recursive: true, force: true });
    });

    /** The table's full-precision values, per method. */
    const shown = () =>
      page.$$eval('#results td', (cells) =>
        Object.fromEntries(cells.map((c) => [c.id, Number(c.getAttribute('data-value'))])),
      );

    async function certify(where: 'browser' | 'server'): Promise<Record<string, number>> {
      await page.check(`input[name=where][value=${where}]`);
      for (const key of ['n0', 'n', 'seed', 'sigma', 'alpha'] as const)
        await page.fill(`#${key}`, String(OPTIONS[key]));
      await page.selectOption('#stride', String(OPTIONS.stride));
      await page.click('#certify');
      await page.waitForSelector('body[data-state=done], body[data-state=error]', { timeout: 120_000 });
      assert.match((await page.textContent('#status')) ?? '', /^Done/);
      return shown();
    }

    async function api(pixels: Float32Array, method: string, extra: object = {}) {
      const r = await fetch(`${base}/v1/certify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...OPTIONS, method, pixels: Array.from(pixels), index: 0, ...extra }),
      });
      assert.equal(r.status, 200);
      return (await r.json()) as {
        prediction: number;
        radius: number;
        radiusSmoothing: number;
        pALower: number;
        nA: number;
      };
    }

    function sameCertificates(
      values: Record<string, number>,
      expected: Record<string, Awaited<ReturnType<typeof api>>>,
      what: string,
    ) {
      for (const m of METHODS) {
        const e = expected[m];
        assert.equal(values[`r-${m}-class`], e.prediction, `${what}, ${m}: class`);
        assert.equal(values[`r-${m}-votes`], e.nA, `${what}, ${m}: votes`);
        for (const key of ['radius', 'radiusSmoothing', 'pALower'] as const) {
          assert.equal(values[`r-${m}-${key}`], e[key], `${what}, ${m}: ${key}`);
        }
      }
    }

    it('certifies a bundled sample in the browser as the API does (same seed), then on the server', async () => {
      await page.click('#samples button >> nth=0');
      const x = await new IdxDataset(join(SAMPLE, 't10k-images-idx3-ubyte.gz')).get(0);
      const expected = Object.fromEntries(
        await Promise.all(METHODS.map(async (m) => [m, await api(x.pixels, m)])),
      );
      const inBrowser = await certify('browser');
      sameCertificates(inBrowser, expected, 'in the browser');
      assert.ok(expected.mean.radius > 0, 'a certified sample, not an abstention');
      await page.screenshot({ path: join(ARTIFACTS, 'web-browser.png'), fullPage: true });
      const onServer = await certify('server');
      sameCertificates(onServer, expected, 'on the server');
      assert.deepEqual(outside, [], 'no request leaves the server');
      assert.deepEqual(errors, [], 'no page errors');
    });

    it('certifies through a denoiser in the browser and on the server as the API does', async () => {
      await page.click('#samples button >> nth=0');
      await page.selectOption('#denoiser', 'shrink');
      const x = await new IdxDataset(join(SAMPLE, 't10k-images-idx3-ubyte.gz')).get(0);
      const expected = Object.fromEntries(
        await Promise.all(METHODS.map(async (m) => [m, await api(x.pixels, m, { denoiser: 'shrink' })])),
      );
      const plain = await api(x.pixels, 'rs');
      assert.notEqual(expected.rs.pALower, plain.pALower, 'the denoiser changes the certificate');
      sameCertificates(await certify('browser'), expected, 'denoised, in the browser');
      sameCertificates(await certify('server'), expected, 'denoised, on the server');
      await page.selectOption('#denoiser', '');
      assert.deepEqual(errors, [], 'no page errors');
    });

    it('takes an uploaded PNG', async () => {
      const x = await new IdxDataset(join(SAMPLE, 't10k-images-idx3-ubyte.gz')).get(7);
      const png = join(tmp, 'upload.png');
      await sharp(Buffer.from(Array.from(x.pixels, (v) => Math.round(v * 255))), {
        raw: { width: 28, height: 28, channels: 1 },
      })
        .png()
        .toFile(png);
      await page.setInputFiles('#upload', png);
      await page.waitForSelector('#status:has-text("upload.png")');
      const expected = Object.fromEntries(
        await Promise.all(METHODS.map(async (m) => [m, await api(x.pixels, m)])),
      );
      sameCertificates(await certify('server'), expected, 'uploaded PNG');
      await page.screenshot({ path: join(ARTIFACTS, 'web-upload.png'), fullPage: true });
    });
  },
);
