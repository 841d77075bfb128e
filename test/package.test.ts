/**
 * The npm package as a library user gets it: `npm pack` (no models, no data sets), the tarball
 * unpacked into a temporary project as `npm install <tgz>` would (offline: its dependencies are
 * this repository's node_modules, linked), then the README's library example run there by name
 * (`import ... from 'smooth-reduce'`) and typechecked against the package's own types. Also the
 * self-reference: `import('smooth-reduce')` inside this repository.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';

const root = resolve(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'sr-pack-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The newest modification time under a folder (ms). */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** The README's library example: the ```ts block under "## Library". */
function readmeLibraryExample(readme: string): string {
  const section = readme.slice(readme.indexOf('\n## Library'));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(m, 'README: no ```ts block under ## Library');
  return m[1];
}

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}
let packed: PackResult;
const project = join(tmp, 'project');
const tools = ['npm', 'tar'].filter((t) => spawnSync(t, ['--version']).status !== 0);
const skip = tools.length > 0 ? `needs ${tools.join(' and ')} on PATH` : false;

before(() => {
  if (skip) return;
  // dist/src is what the package ships: build it when a source file is newer (npm ci's `prepare`
  // built it; `npm pack` would rebuild the page too, which this test does not need)
  const entry = join(root, 'dist', 'src', 'index.js');
  if (!existsSync(entry) || newest(join(root, 'src')) > statSync(entry).mtimeMs) {
    execFileSync(
      process.execPath,
      [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
      {
        cwd: root,
        stdio: 'inherit',
      },
    );
  }
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  packed = (JSON.parse(out) as PackResult[])[0];

  // what `npm install <tgz>` does, offline: unpack into node_modules/smooth-reduce; the
  // dependencies come from this repository's node_modules (npm's registry is not needed)
  const modules = join(project, 'node_modules');
  mkdirSync(modules, { recursive: true });
  execFileSync('tar', ['-xzf', join(tmp, packed.filename), '-C', modules]);
  renameSync(join(modules, 'package'), join(modules, 'smooth-reduce'));
  for (const name of readdirSync(join(root, 'node_modules'))) {
    if (name.startsWith('.') || name === 'smooth-reduce') continue;
    symlinkSync(join(root, 'node_modules', name), join(modules, name));
  }
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({
      name: 'consumer',
      private: true,
      type: 'module',
      dependencies: { 'smooth-reduce': packed.filename },
    }),
  );
  // the README's paths are relative to the working directory: models and data from a clone
  symlinkSync(join(root, 'models'), join(project, 'models'));
  symlinkSync(join(root, 'data'), join(project, 'data'));
});

test('npm pack: the library and the page, no models or data sets, under 10 MB packed', { skip }, () => {
  const paths = packed.files.map((f) => f.path);
  for (const p of [
    'package.json',
    'README.md',
    'dist/src/index.js',
    'dist/src/index.d.ts',
    'dist/src/cli/main.js',
  ])
    assert.ok(paths.includes(p), `${p} is not in the package`);
  const shipped = paths.filter((p) => /^(models|data|test|training|src)\//.test(p) || p.endsWith('.map'));
  assert.deepEqual(shipped, [], 'files a library user does not need');
  assert.ok(packed.size < 10 * 2 ** 20, `packed size ${(packed.size / 2 ** 20).toFixed(1)} MB`);
});

test(
  "the README's library example runs in another project, importing 'smooth-reduce' by name",
  { skip },
  () => {
    const example = readmeLibraryExample(readFileSync(join(root, 'README.md'), 'utf8'));
    assert.match(example, /from 'smooth-reduce'/);
    const script =
      example +
      '\nconsole.log(JSON.stringify({ c: [c.prediction, c.radius], c0: [c0.prediction, c0.radius], ' +
      'each: [mean9, max9, mean4].map((r) => [r.prediction, r.radius]), label: x.label }));\n';
    writeFileSync(join(project, 'example.mjs'), script);
    const r = spawnSync(process.execPath, ['example.mjs'], { cwd: project, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      c: [number, number];
      c0: [number, number];
      each: [number, number][];
      label: number;
    };
    // the same options and index give the same certificate, through either entry point
    assert.deepEqual(out.c, out.c0);
    assert.deepEqual(out.each[0], out.c);
    assert.equal(out.c[0], out.label, 'image 0 (an ankle boot) is certified as its label');
    assert.ok(out.c[1] > 0);

    // and it typechecks against the package's declarations (exports' "types")
    writeFileSync(join(project, 'example.ts'), `${example}\nexport {};\n`);
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        files: ['example.ts'],
      }),
    );
    const tsc = spawnSync(
      process.execPath,
      [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'],
      {
        cwd: project,
        encoding: 'utf8',
      },
    );
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
  },
);

test("inside this repository, import('smooth-reduce') resolves to the package itself", () => {
  const r = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', "const m = await import('smooth-reduce'); console.log(typeof m.certify)"],
    { cwd: root, encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'function');
});
