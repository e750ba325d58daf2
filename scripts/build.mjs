#!/usr/bin/env node
/**
 * `npm run build`: bundles each command of the service into dist/ with esbuild, as plain
 * JavaScript ES modules (no TypeScript compiler, tsx or esbuild at run time) and the chunks they
 * share, each with its source map: dist/server.js (src/main.ts, which loads src/server.ts) and the
 * operator's commands. Node then loads a dozen files instead of about 900 (drizzle-orm alone ships
 * 448), which was most of the start-up. Types are checked by `npm run typecheck`, part of `npm test`.
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { build } from 'esbuild';

const ROOT = new URL('..', import.meta.url).pathname;
const ENTRY_POINTS = [
  { in: 'src/main.ts', out: 'server' },
  'src/migrate/migrate-cli.ts',
  'src/migrate/rollback-cli.ts',
  'src/migrate/check-cli.ts',
  'src/auth/reset-password-cli.ts',
  { in: 'src/migrate/import/cli.ts', out: 'migrate/import-cli' },
];
/**
 * Loaded from node_modules as they ship, where they find their own files: the native binaries,
 * PGlite's WebAssembly and data files, the Swagger UI's pages (read from its `__dirname`; it loads
 * on the first request to /docs). pg-boss (and pg under it) only with SALESDRIVE_URL: not parsed
 * at every start.
 */
const EXTERNAL = ['@node-rs/argon2', '@node-rs/bcrypt', '@electric-sql/pglite', '@electric-sql/pglite/*', 'pg-boss', '@fastify/swagger-ui'];

if (process.argv.includes('--help')) {
  console.log(`usage: npm run build\nbundles ${ENTRY_POINTS.map((e) => e.in ?? e).join(', ')} into dist/`);
  process.exit(0);
}

/** The bundled CommonJS packages (fastify, pino, …) call require() for Node's own modules. */
const BANNER = "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

const DIST = join(ROOT, 'dist');
/**
 * What the bundle is made of; unchanged since the last build (and its outputs all there), nothing to
 * do. patches/: what patch-package changes in the bundled dependencies (npm ci applies it).
 */
const INPUTS = ['src', 'scripts/build.mjs', 'package-lock.json', 'tsconfig.json', 'patches'];
const STAMP = join(DIST, '.inputs.json');

async function describeInputs() {
  const files = [];
  for (const input of INPUTS) {
    const path = join(ROOT, input);
    const entries = (await stat(path)).isDirectory()
      ? (await readdir(path, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
      : [path];
    for (const file of entries.sort()) {
      const { size, mtimeMs } = await stat(file);
      files.push([relative(ROOT, file), size, mtimeMs]);
    }
  }
  return files;
}

const inputs = [process.version, ...(await describeInputs())];
const previous = JSON.parse(await readFile(STAMP, 'utf8').catch(() => '{}'));
if (JSON.stringify(previous.inputs) === JSON.stringify(inputs)) {
  const present = await Promise.all(
    (previous.outputs ?? []).map((file) =>
      stat(join(ROOT, file)).then(
        () => true,
        () => false,
      ),
    ),
  );
  if (present.length && present.every(Boolean)) process.exit(0);
}

let outputs;
try {
  ({ outputFiles: outputs } = await build({
    write: false,
    absWorkingDir: ROOT,
    entryPoints: ENTRY_POINTS,
    outdir: 'dist',
    outbase: 'src',
    bundle: true,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    format: 'esm',
    platform: 'node',
    target: 'node22.12',
    external: EXTERNAL,
    banner: { js: BANNER },
    // linked: Node reads the map only for a stack trace (src/main.ts turns source maps on)
    sourcemap: 'linked',
    legalComments: 'linked',
    // without comments and indentation the code is a third smaller (names stay; the maps map the rest)
    minifyWhitespace: true,
    logLevel: 'warning',
  }));
} catch {
  // esbuild has printed what failed, with file and line
  process.exit(1);
}

// Other processes may be running dist/ while it is built (the tests build before each command):
// a file that changed is replaced whole (rename), one that did not is left as it is, and only
// files no longer built are removed.
const built = new Set();
for (const { path, contents } of outputs) {
  built.add(path);
  const current = await readFile(path).catch(() => undefined);
  if (current && Buffer.compare(current, contents) === 0) continue;
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, contents);
  await rename(temporary, path);
}
for (const entry of await readdir(DIST, { recursive: true, withFileTypes: true })) {
  const path = join(entry.parentPath, entry.name);
  // a .tmp file is another build's, about to be renamed
  if (entry.isFile() && !built.has(path) && !path.endsWith('.tmp') && path !== STAMP) await rm(path, { force: true });
}
const temporaryStamp = `${STAMP}.${process.pid}.tmp`;
await writeFile(temporaryStamp, JSON.stringify({ inputs, outputs: [...built].map((path) => relative(ROOT, path)) }));
await rename(temporaryStamp, STAMP);
