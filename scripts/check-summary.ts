/**
 * Checks the hand-written summary of docs/results.md against the generated tables: every
 * "value [low, high]" in the summary (a ratio or a rate with its interval) must appear, as written,
 * in one of the tables results-report.sh writes (docs/results/tables/*.md). A number copied wrong,
 * or left behind when a table was regenerated on more images, is printed with its line, and the
 * exit status is 1.
 *
 *   node --import tsx scripts/check-summary.ts [--doc docs/results.md] [--tables docs/results/tables]
 *
 * The summary is the part of the document from its "## Summary" heading to the next "## " heading.
 *
 * It also checks that every log in docs/results/logs was drawn with the current sampler
 * (scripts/lib/log-samplers.ts): a log whose manifest names no sampler, or an older one, is printed
 * and the exit status is 1 (`--logs` names the folder).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SAMPLER } from '../src/core/rng.js';
import { staleLogs } from './lib/log-samplers.js';

const { values } = parseArgs({
  options: {
    doc: { type: 'string', default: 'docs/results.md' },
    tables: { type: 'string', default: 'docs/results/tables' },
    logs: { type: 'string', default: 'docs/results/logs' },
  },
});
const doc = values.doc;
const folder = values.tables;
for (const path of [doc, folder, values.logs]) {
  if (!existsSync(path)) {
    process.stderr.write(`check-summary: ${path} does not exist\n`);
    process.exit(2);
  }
}

const lines = readFileSync(doc, 'utf8').split('\n');
const start = lines.findIndex((l) => l.startsWith('## Summary'));
if (start < 0) {
  process.stderr.write(`check-summary: ${doc} has no "## Summary" section\n`);
  process.exit(2);
}
const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
const summary = lines.slice(start, end < 0 ? undefined : end);

const tables = readdirSync(folder)
  .filter((f) => f.endsWith('.md'))
  .map((f) => readFileSync(join(folder, f), 'utf8'))
  .join('\n');

/** A number as the tables write it (.855, 1.048, -.020) and its interval in brackets. */
const WITH_INTERVAL = /-?\d*\.\d+ \[-?\d*\.\d+, -?\d*\.\d+\]/g;
let checked = 0;
const missing: string[] = [];
summary.forEach((line, i) => {
  for (const [text] of line.matchAll(WITH_INTERVAL)) {
    checked++;
    if (!tables.includes(text)) missing.push(`${doc}:${start + i + 1}: ${text}`);
  }
});
for (const m of missing) process.stdout.write(`not in any table: ${m}\n`);
process.stdout.write(
  `check-summary: ${checked - missing.length} of ${checked} numbers with intervals in the summary are in the tables\n`,
);
const stale = staleLogs(values.logs);
for (const { log, sampler } of stale)
  process.stdout.write(
    `not drawn with the current sampler: ${join(values.logs, log)} (${sampler ?? 'no sampler named'})\n`,
  );
process.stdout.write(
  `check-summary: ${stale.length} log(s) in ${values.logs} do not name the current sampler ${SAMPLER}\n`,
);
process.exit(missing.length > 0 || stale.length > 0 ? 1 : 0);
