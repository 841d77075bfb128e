/**
 * Run summaries with skipped inputs (unreadable videos): a skipped clip has no log line, so it is
 * neither right nor wrong; the summary's accuracy is over the inputs with a line, as `analyze`
 * computes it (issue 24, point 7).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createProgress } from '../src/cli/progress.js';
import type { RunManifest } from '../src/io/manifest.js';

const manifest = { command: 'certify', label: 'L', smoothingSpace: 'input' } as RunManifest;

/** 10 inputs, the odd ones skipped, 4 of the 5 read ones correct; `done` as runCertification counts it. */
function feed(mode: 'lines' | 'json' | 'tty'): { out: string; err: string } {
  let out = '';
  let err = '';
  const p = createProgress({
    mode,
    out: 'x.tsv',
    streams: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } },
    now: () => 0,
  });
  p.start(10, 0, manifest, { correct: 0, abstained: 0 });
  for (let k = 0; k < 10; k++) {
    if (k % 2 === 1) {
      p.skip?.(k, 'cannot decode');
      continue;
    }
    const correct = k !== 8;
    p.input({ idx: k, label: 1, prediction: correct ? 1 : 2, correct, radius: 0.5, seconds: 1 }, k + 1);
  }
  p.finish({ total: 10, resumed: 0, correct: 4, abstained: 0, seconds: 10, skipped: 5 });
  p.close();
  return { out, err };
}

test('the summary line does not count skipped clips as wrong', () => {
  for (const mode of ['lines', 'tty'] as const) {
    const { err } = feed(mode);
    const summary = err.trimEnd().split('\n').at(-1)!;
    assert.match(
      summary,
      /certified accuracy 0\.800 \(4\/5\), 0 abstained, 5 skipped/,
      `${mode}: ${summary}`,
    );
  }
});

test('the JSON finish event counts skipped clips apart', () => {
  const { out } = feed('json');
  const finish = JSON.parse(out.trimEnd().split('\n').at(-1)!);
  assert.equal(finish.event, 'finish');
  assert.equal(finish.accuracy, 0.8);
  assert.equal(finish.skipped, 5);
  assert.equal(finish.correct, 4);
});
