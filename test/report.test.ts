/**
 * `smooth-reduce report`: one self-contained HTML file, rendered in Chromium (playwright-core):
 * no request leaves the file, its numbers are `analyze`'s, the curves are drawn, the checks and
 * the signer are shown, and a failed check is said.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { SAMPLE, cliInProcess, writeCentroidModel } from './helpers/cli.js';
import { findChromium } from './helpers/browser.js';

const chromiumPath = findChromium();
const tmp = mkdtempSync(join(tmpdir(), 'sr-report-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const model = join(tmp, 'centroid.onnx');
const run = join(tmp, 'run.tsv');
const key = join(tmp, 'signer');
const report = join(tmp, 'report.html');

before(async () => {
  await writeCentroidModel(model);
  const args = [
    '--model',
    model,
    '--data',
    SAMPLE,
    '--max',
    '12',
    '--n0',
    '10',
    '--n',
    '200',
    '--threads',
    '1',
  ];
  assert.equal((await cliInProcess(['keygen', key])).code, 0);
  const c = await cliInProcess(['certify', ...args, '--quiet', '--sign', `${key}.key`, '--out', run]);
  assert.equal(c.code, 0, c.stderr);
  const r = await cliInProcess(['report', run, '--key', `${key}.pub`, '--out', report]);
  assert.equal(r.code, 0, r.stderr);
});

describe(
  'report in chromium',
  { skip: chromiumPath ? false : 'no chromium found (set CHROMIUM_PATH)' },
  () => {
    it('renders with no external request; its numbers are analyze’s; checks and signer shown', async () => {
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({ executablePath: chromiumPath!, headless: true });
      try {
        const page = await browser.newPage();
        const url = pathToFileURL(report).href;
        const outside: string[] = [];
        page.on('request', (r) => {
          if (r.url() !== url && !r.url().startsWith('data:')) outside.push(r.url());
        });
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(url);
        assert.deepEqual(outside, []);
        assert.deepEqual(errors, []);
        assert.equal(await page.getAttribute('body', 'data-verified'), 'true');
        const values = Object.fromEntries(
          await page.$$eval('td[data-metric][data-run="0"]', (cells) =>
            cells.map((c) => [c.getAttribute('data-metric'), Number(c.getAttribute('data-value'))]),
          ),
        ) as Record<string, number>;
        const a = await cliInProcess(['analyze', run, '--format', 'json', '--radii', '0,0.25,0.5,0.75,1']);
        const expected = (
          JSON.parse(a.stdout) as {
            runs: {
              count: number;
              acr: number;
              abstentionRate: number;
              certifiedAccuracy: { radius: number; accuracy: number }[];
            }[];
          }
        ).runs[0];
        assert.equal(values.count, expected.count);
        assert.equal(values.acr, expected.acr);
        assert.equal(values.abstentionRate, expected.abstentionRate);
        for (const c of expected.certifiedAccuracy)
          assert.equal(values[`certifiedAccuracy@${c.radius}`], c.accuracy);
        assert.ok((await page.$$('figure svg path')).length > 0, 'the curves are drawn');
        const checks = await page.$$eval('li[data-check]', (li) =>
          li.map((l) => [l.getAttribute('data-check'), l.className]),
        );
        assert.deepEqual(
          checks.map(([name]) => name),
          ['lines', 'rederive', 'signature'],
        );
        assert.ok(checks.every(([, cls]) => cls === 'pass'));
        assert.match(
          (await page.textContent('li[data-check=signature]')) ?? '',
          /signed by key [0-9a-f]{16}/,
        );

        // the log's time column edited: the signature fails, and the report says so
        const edited = join(tmp, 'edited.tsv');
        writeFileSync(edited, readFileSync(run, 'utf8').replace(/\t0\.\d\d\d\t/, '\t9.999\t'));
        for (const ext of ['.manifest.json', '.intoto.json']) copyFileSync(run + ext, edited + ext);
        const bad = join(tmp, 'bad.html');
        assert.equal((await cliInProcess(['report', edited, '--key', `${key}.pub`, '--out', bad])).code, 0);
        await page.goto(pathToFileURL(bad).href);
        assert.equal(await page.getAttribute('body', 'data-verified'), 'false');
        assert.equal(await page.getAttribute('li[data-check=signature]', 'class'), 'fail');
      } finally {
        await browser.close();
      }
    });
  },
);
