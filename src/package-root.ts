/** The installed package's root folder and version (works from src/ under tsx and from dist/). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (
      existsSync(pkg) &&
      (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'smooth-reduce'
    )
      return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the smooth-reduce package root');
    dir = up;
  }
}

export const packageRoot = findRoot();
export const packageVersion = (
  JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }
).version;
