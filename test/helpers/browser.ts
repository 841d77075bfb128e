/**
 * Browser tests: the Chromium to drive with playwright-core (Debian's `chromium` package, or
 * CHROMIUM_PATH), and the web page built with Vite into a temporary folder.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './cli.js';

const CANDIDATES = [
  process.env.CHROMIUM_PATH,
  '/usr/lib/chromium/chromium',
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
];

/** The browser executable, or null when none is installed. */
export function findChromium(): string | null {
  return CANDIDATES.find((p): p is string => !!p && existsSync(p)) ?? null;
}

/** Builds the page (web/, vite.config.ts) into `outDir`. */
export async function buildPage(outDir: string): Promise<void> {
  const { build } = await import('vite');
  await build({
    configFile: join(REPO, 'vite.config.ts'),
    logLevel: 'silent',
    build: { outDir, emptyOutDir: true },
  });
}

/** Where browser tests keep their screenshots (not committed). */
export const ARTIFACTS = join(REPO, 'test-artifacts');
