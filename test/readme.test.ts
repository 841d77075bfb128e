/**
 * The README's example outputs cannot go stale: every ```console check block is run and its output
 * compared line for line (`node --import tsx scripts/readme-outputs.ts` rewrites them), and the
 * HTTP API example's answers are asked of the service and compared field by field.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkedBlocks, differences, REPO, runBlock } from '../scripts/readme-outputs.js';
import { createService } from '../src/serve/app.js';

const readme = readFileSync(join(REPO, 'README.md'), 'utf8');

describe('README: the console check blocks give the outputs shown', () => {
  const blocks = checkedBlocks(readme);
  it('there are some (one-image certification, video)', () => {
    assert.ok(blocks.length >= 2, `${blocks.length} blocks`);
  });
  for (const block of blocks) {
    it(`block at README line ${block.line + 1}: ${block.steps[0].command.slice(0, 60)}...`, () => {
      const outputs = runBlock(block);
      const diff = block.steps.flatMap((step, k) => differences(step, outputs[k]));
      assert.deepEqual(
        diff,
        [],
        `${diff.join('\n')}\n(node --import tsx scripts/readme-outputs.ts updates them)`,
      );
    });
  }
});

/** A number field of the README's JSON text, e.g. "radius":0.43 -> 0.43. */
function field(text: string, name: string): unknown {
  const m = new RegExp(`"${name}":(\\[[^\\]]*\\]|[^,}]+)`).exec(text);
  assert.ok(m, `README: no "${name}" in ${text.slice(0, 80)}...`);
  return JSON.parse(m[1]) as unknown;
}

it('README: the curl example answers as the service does', async () => {
  const section = readme.slice(readme.indexOf('curl -s localhost:8080/v1/samples/fashion-mnist/0.png'));
  const from = section.indexOf('{"model"');
  const certifyText = section.slice(from, section.indexOf('\ncurl', from));
  const predictText = section.slice(section.indexOf('{"model":{...}'));
  assert.match(section, /\/v1\/certify\?model=fmnist-cnn-s025&method=mean&n=1000&seed=0'/);
  assert.match(section, /"model":"fmnist-cnn-s025","method":"rs","n":1000,"image"/);
  const service = await createService({
    models: [join(REPO, 'models', 'fmnist-cnn-s025')],
    workers: 1,
    webRoot: null,
  });
  try {
    const png = (await service.app.inject({ method: 'GET', url: '/v1/samples/fashion-mnist/0.png' }))
      .rawPayload;
    const c = (
      await service.app.inject({
        method: 'POST',
        url: '/v1/certify?model=fmnist-cnn-s025&method=mean&n=1000&seed=0',
        headers: { 'content-type': 'image/png' },
        payload: png,
      })
    ).json<Record<string, unknown>>();
    for (const name of [
      'className',
      'prediction',
      'radius',
      'radiusSmoothing',
      'noiseScale',
      'pALower',
      'nA',
      'counts',
      'warnings',
    ])
      assert.deepEqual(field(certifyText, name), c[name], `certify: ${name}`);
    const p = (
      await service.app.inject({
        method: 'POST',
        url: '/v1/predict',
        payload: { model: 'fmnist-cnn-s025', method: 'rs', n: 1000, image: png.toString('base64') },
      })
    ).json<Record<string, unknown>>();
    assert.deepEqual(field(predictText, 'counts'), p.counts, 'predict: counts');
    assert.equal(
      field(predictText, 'pValue'),
      Number((p.pValue as number).toPrecision(3)),
      'predict: pValue',
    );
  } finally {
    await service.close();
  }
});
