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
import { pathToFileURL } from 'node:url';
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
export const EXTERNAL = [
  '@node-rs/argon2',
  '@node-rs/bcrypt',
  '@electric-sql/pglite',
  '@electric-sql/pglite/*',
  'pg-boss',
  '@fastify/swagger-ui',
];

/** The bundled CommonJS packages (fastify, pino, …) call require() for Node's own modules. */
export const BANNER = "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/** What every bundle of the project shares (the service's and the tests'). */
export const BUNDLE_OPTIONS = {
  absWorkingDir: ROOT,
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node22.12',
  external: EXTERNAL,
  banner: { js: BANNER },
  logLevel: 'warning',
};

/**
 * What the bundle is made of; unchanged since the last build (and its outputs all there), nothing to
 * do. patches/: what patch-package changes in the bundled dependencies (npm ci applies it).
 */
export const INPUTS = ['src', 'scripts/build.mjs', 'package-lock.json', 'tsconfig.json', 'patches'];

async function describeInputs(inputPaths) {
  const files = [];
  for (const input of inputPaths) {
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

/**
 * Bundles into `outdir` (esbuild's `options`) unless none of `inputPaths` changed since the last
 * build there and its outputs are all there. Other processes may be running the bundles while they
 * are built (the tests build before each command): a file that changed is replaced whole (rename),
 * one that did not is left as it is, and only files no longer built are removed.
 */
export async function buildOnce(outdir, inputPaths, options) {
  const stamp = join(ROOT, outdir, '.inputs.json');
  const inputs = [process.version, ...(await describeInputs(inputPaths))];
  const previous = JSON.parse(await readFile(stamp, 'utf8').catch(() => '{}'));
  if (JSON.stringify(previous.inputs) === JSON.stringify(inputs)) {
    const present = await Promise.all(
      (previous.outputs ?? []).map((file) =>
        stat(join(ROOT, file)).then(
          () => true,
          () => false,
        ),
      ),
    );
    if (present.length && present.every(Boolean)) return false;
  }

  let outputs;
  try {
    ({ outputFiles: outputs } = await build({ ...BUNDLE_OPTIONS, ...options, outdir, write: false }));
  } catch {
    // esbuild has printed what failed, with file and line
    process.exit(1);
  }

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
  for (const entry of await readdir(join(ROOT, outdir), { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    // a .tmp file is another build's, about to be renamed
    if (entry.isFile() && !built.has(path) && !path.endsWith('.tmp') && path !== stamp) await rm(path, { force: true });
  }
  const temporaryStamp = `${stamp}.${process.pid}.tmp`;
  await writeFile(temporaryStamp, JSON.stringify({ inputs, outputs: [...built].map((path) => relative(ROOT, path)) }));
  await rename(temporaryStamp, stamp);
  return true;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv.includes('--help')) {
    console.log(`usage: npm run build\nbundles ${ENTRY_POINTS.map((e) => e.in ?? e).join(', ')} into dist/`);
    process.exit(0);
  }
  await buildOnce('dist', INPUTS, {
    entryPoints: ENTRY_POINTS,
    outbase: 'src',
    // linked: Node reads the map only for a stack trace (src/main.ts turns source maps on)
    sourcemap: 'linked',
    legalComments: 'linked',
    // without comments and indentation the code is a third smaller (names stay; the maps map the rest)
    minifyWhitespace: true,
  });
}
