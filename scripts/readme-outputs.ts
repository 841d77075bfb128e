/**
 * The README's example outputs, produced by running them: every ```console check block holds
 * commands (`$ ...`, continued by a trailing backslash) each followed by its stdout. `[...]` in an
 * expected line stands for any text (times). `test/readme.test.ts` runs the blocks and fails on a
 * difference; this script rewrites the outputs in place:
 *
 *   node --import tsx scripts/readme-outputs.ts [--check] [README.md]
 *
 * Commands run in a temporary folder holding links to the repository's models/ and data/, with
 * `npx smooth-reduce` run from the sources (no build needed).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '..');
const WILDCARD = '[...]';

export interface Step {
  /** the command as written (continuation lines joined) */
  command: string;
  /** README line numbers (0-based) of the expected output */
  from: number;
  to: number;
  expected: string[];
}

export interface Block {
  /** 0-based line of the opening fence */
  line: number;
  steps: Step[];
}

/** The ```console check blocks of a Markdown text. */
export function checkedBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```console check\s*$/.test(lines[i])) continue;
    const block: Block = { line: i, steps: [] };
    let j = i + 1;
    while (j < lines.length && lines[j] !== '```') {
      if (!lines[j].startsWith('$ ')) throw new Error(`README line ${j + 1}: expected a "$ " command`);
      let command = lines[j].slice(2);
      while (command.endsWith('\\') && j + 1 < lines.length)
        command = command.slice(0, -1) + ' ' + lines[++j].trim();
      const from = ++j;
      while (j < lines.length && lines[j] !== '```' && !lines[j].startsWith('$ ')) j++;
      block.steps.push({ command, from, to: j, expected: lines.slice(from, j) });
    }
    if (j >= lines.length) throw new Error(`README line ${i + 1}: unclosed block`);
    blocks.push(block);
    i = j;
  }
  return blocks;
}

/** Whether an output line matches an expected one (`[...]`: any text). */
export function lineMatches(expected: string, actual: string): boolean {
  if (!expected.includes(WILDCARD)) return expected === actual;
  const pattern = expected
    .split(WILDCARD)
    .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${pattern}$`).test(actual);
}

/** Runs one block's commands in a fresh folder; the stdout lines of each. */
export function runBlock(block: Block): string[][] {
  const cwd = mkdtempSync(join(tmpdir(), 'sr-readme-'));
  try {
    for (const name of ['models', 'data']) symlinkSync(join(REPO, name), join(cwd, name));
    // tsx by URL: the folder the commands run in has no node_modules
    const cli = `${JSON.stringify(process.execPath)} --import ${import.meta.resolve('tsx')} ${JSON.stringify(join(REPO, 'src', 'cli', 'main.ts'))}`;
    return block.steps.map((step) => {
      const command = step.command.replaceAll('npx smooth-reduce', cli);
      const out = execFileSync('bash', ['-c', `set -eo pipefail; ${command}`], {
        cwd,
        encoding: 'utf8',
        env: { ...process.env, NODE_PATH: join(REPO, 'node_modules'), FORCE_COLOR: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
        maxBuffer: 64 * 2 ** 20,
      });
      return out === '' ? [] : out.replace(/\n$/, '').split('\n');
    });
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

/** The differences of a step's output from the README's, as lines for a message. */
export function differences(step: Step, actual: string[]): string[] {
  const n = Math.max(step.expected.length, actual.length);
  const out: string[] = [];
  for (let k = 0; k < n; k++) {
    const [e, a] = [step.expected[k], actual[k]];
    if (e === undefined || a === undefined || !lineMatches(e, a))
      out.push(`README line ${step.from + k + 1}:\n  README: ${e ?? '(none)'}\n  actual: ${a ?? '(none)'}`);
  }
  return out;
}

function main(args: string[]): number {
  const check = args.includes('--check');
  const file = args.find((a) => !a.startsWith('--')) ?? join(REPO, 'README.md');
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const problems: string[] = [];
  // from the end, so that earlier line numbers stay valid while lines are replaced
  for (const block of checkedBlocks(text).reverse()) {
    const outputs = runBlock(block);
    for (const [k, step] of [...block.steps.entries()].reverse()) {
      const actual = outputs[k];
      problems.push(...differences(step, actual));
      // keep an expected line with a wildcard where it still matches
      const kept = actual.map((a, i) =>
        step.expected[i] !== undefined && lineMatches(step.expected[i], a) ? step.expected[i] : a,
      );
      lines.splice(step.from, step.to - step.from, ...kept);
    }
  }
  if (check) {
    if (problems.length > 0) process.stderr.write(problems.join('\n') + '\n');
    return problems.length > 0 ? 1 : 0;
  }
  writeFileSync(file, lines.join('\n'));
  process.stderr.write(`${file}: ${problems.length} output line(s) updated\n`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename))
  process.exit(main(process.argv.slice(2)));
