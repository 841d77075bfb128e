/**
 * Every result log must be drawn with the current sampler (issue 29, point 6): the check of
 * scripts/check-summary.ts, tested on fixtures, and applied to docs/results/logs. The logs that
 * predate the current sampler today are listed below; the list may only shrink (a log regenerated
 * by scripts/results.sh, or removed with its claims, is removed from it), and any other stale log
 * fails the test.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SAMPLER } from '../src/core/rng.js';
import { staleLogs } from '../scripts/lib/log-samplers.js';

const tmp = mkdtempSync(join(tmpdir(), 'sr-logs-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('staleLogs: a log with no sampler, an older one, or no manifest is stale; the current sampler is not', () => {
  const log = (name: string, options: Record<string, unknown> | null) => {
    writeFileSync(join(tmp, name), 'idx\tlabel\tpredict\tradius\tcorrect\ttime\n');
    if (options) writeFileSync(join(tmp, `${name}.manifest.json`), JSON.stringify({ options }));
  };
  log('current.tsv', { sampler: SAMPLER, sigma: 0.25 });
  log('none.tsv', { sigma: 0.25 });
  log('older.tsv', { sampler: 'xoshiro128**-ziggurat52-grid' });
  log('orphan.tsv', null);
  assert.deepEqual(staleLogs(tmp), [
    { log: 'none.tsv', sampler: null },
    { log: 'older.tsv', sampler: 'xoshiro128**-ziggurat52-grid' },
    { log: 'orphan.tsv', sampler: 'no manifest' },
  ]);
  assert.deepEqual(
    staleLogs(tmp, 'xoshiro128**-ziggurat52-grid').map((s) => s.log),
    ['current.tsv', 'none.tsv', 'orphan.tsv'],
  );
});

/** Logs in docs/results/logs drawn before the current sampler, to be regenerated (issue 29). */
const TO_REGENERATE = [
  'cifar10-s025-max9.tsv',
  'cifar10-s025-mean9.tsv',
  'cifar10-s025-rs.tsv',
  'cifar10-s050-mean9.tsv',
  'cifar10-s050-rs.tsv',
  'fmnist-s012-mean9.tsv',
  'fmnist-s012-rs.tsv',
  'fmnist-s025-max9.tsv',
  'fmnist-s025-mean25.tsv',
  'fmnist-s025-mean4.tsv',
  'fmnist-s025-mean9-n10k.tsv',
  'fmnist-s025-mean9-softmax.tsv',
  'fmnist-s025-mean9-uncorrelated.tsv',
  'fmnist-s025-mean9.tsv',
  'fmnist-s025-rs-n10k-adaptive.tsv',
  'fmnist-s025-rs.tsv',
  'fmnist-s050-mean9.tsv',
  'fmnist-s050-rs.tsv',
  'fmnist-s100-mean9.tsv',
  'fmnist-s100-rs.tsv',
  'video-s050-max-corr.tsv',
  'video-s050-max-uncorr.tsv',
  'video-s050-mean-corr.tsv',
  'video-s050-mean-uncorr.tsv',
  'video-s050-rs.tsv',
  'video-s100-max-corr.tsv',
  'video-s100-max-uncorr.tsv',
  'video-s100-mean-corr.tsv',
  'video-s100-mean-uncorr.tsv',
  'video-s100-rs.tsv',
];

test('docs/results/logs: no log drawn with an older sampler beyond the ones listed for regeneration', () => {
  const stale = staleLogs('docs/results/logs').map((s) => s.log);
  const unlisted = stale.filter((l) => !TO_REGENERATE.includes(l));
  assert.deepEqual(unlisted, [], `logs not drawn with ${SAMPLER}: ${unlisted.join(', ')}`);
  const done = TO_REGENERATE.filter((l) => !stale.includes(l));
  assert.deepEqual(done, [], `regenerated (or removed): remove ${done.join(', ')} from TO_REGENERATE`);
});
