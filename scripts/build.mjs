#!/usr/bin/env node
/**
 * `npm run build`: bundles each command of the service into dist/ with esbuild, as plain
 * JavaScript (no TypeScript compiler, tsx or esbuild at run time): the service as one CommonJS
 * file with its launcher, dist/server.js, and V8's code cache for it (src/launcher.ts); the other
 * commands as ES modules and the chunks they share. Node then loads a dozen files instead of about
 * 900 (drizzle-orm alone ships 448), which was most of the start-up. Types are checked by
 * `npm run typecheck`, part of `npm test`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { build } from 'esbuild';

const ROOT = new URL('..', import.meta.url).pathname;
/** The commands, as ES modules sharing chunks; dist/server.js is the launcher of the service's own bundle. */
const ENTRY_POINTS = [{ in: 'src/launcher.ts', out: 'server' }, 'src/db/migrate-cli.ts', 'src/db/rollback-cli.ts', 'src/db/check-cli.ts', 'src/auth/reset-password-cli.ts'];
/**
 * The service itself: one CommonJS file, which src/launcher.ts runs with a V8 code cache of its
 * own (vm.Script takes a cache made after the code ran; Node's loader only one made before).
 */
const SERVICE = { entry: 'src/service.ts', outfile: 'dist/server.bundle.cjs' };
/** Loaded from node_modules as they ship: native binaries, and PGlite's WebAssembly and data files. */
// pg-boss (and pg under it) only with SALESDRIVE_URL: loaded from node_modules when used, not parsed at every start
const EXTERNAL = ['@node-rs/argon2', '@node-rs/bcrypt', '@electric-sql/pglite', '@electric-sql/pglite/*', 'pg-boss'];
/** Bundled, but their files (the Swagger UI pages) are read from where the package is installed. */
const WITH_OWN_FILES = ['@fastify/swagger-ui'];

if (process.argv.includes('--help')) {
  console.log(`usage: npm run build\nbundles ${ENTRY_POINTS.join(', ')} into dist/`);
  process.exit(0);
}

const BANNER = [
  "import { createRequire as __createRequire } from 'node:module';",
  "import { dirname as __dirnameOf, join as __joinPath } from 'node:path';",
  // the bundled CommonJS packages (fastify, pino, …) call require() for Node's own modules
  'const require = __createRequire(import.meta.url);',
  "const __packageDir = (name, sub) => __joinPath(__dirnameOf(require.resolve(name + '/package.json')), sub);",
].join(' ');
/** The same for the CommonJS bundle, which has require() and __filename of its own. */
const CJS_BANNER = [
  "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;",
  "const __packageDir = (name, sub) => require('node:path').join(require('node:path').dirname(require.resolve(name + '/package.json')), sub);",
].join(' ');

/** In the files of WITH_OWN_FILES, `__dirname` is the file's directory in the installed package. */
const ownFiles = {
  name: 'own-files',
  setup(builder) {
    for (const name of WITH_OWN_FILES) {
      const packageDir = join(ROOT, 'node_modules', name);
      const filter = new RegExp(`^${packageDir.replaceAll(/[.*+?^${}()|[\]\\/]/g, '\\$&')}${sep === '/' ? '/' : '\\\\'}.*\\.js$`);
      builder.onLoad({ filter }, async ({ path }) => {
        const sub = relative(packageDir, dirname(path));
        const source = await readFile(path, 'utf8');
        return { contents: source.replaceAll('__dirname', `__packageDir(${JSON.stringify(name)}, ${JSON.stringify(sub)})`), loader: 'js' };
      });
    }
  },
};

/**
 * Node's own modules, taken as the CommonJS objects they are (`process.getBuiltinModule`). An ES
 * `import` of one makes Node build its ES module facade, which reads every export: for node:http
 * that includes the lazy getters of the WebSocket and fetch classes, which load all of undici
 * (about 18 ms of each start, for two `import`s of node:http that use neither).
 */
const builtinsWithoutFacade = {
  name: 'builtins-without-facade',
  setup(builder) {
    builder.onResolve({ filter: /^[a-z_:/0-9]+$/ }, ({ path }) => (isBuiltin(path) ? { path, namespace: 'node-builtin' } : undefined));
    builder.onLoad({ filter: /.*/, namespace: 'node-builtin' }, ({ path }) => ({
      contents: `module.exports = process.getBuiltinModule(${JSON.stringify(path)});`,
      loader: 'js',
    }));
  },
};

const DIST = join(ROOT, 'dist');
/**
 * What the bundle is made of; unchanged since the last build (and its outputs all there), nothing to
 * do. patches/: what patch-package changes in the bundled dependencies (npm ci applies it).
 */
const INPUTS = ['src', 'scripts/build.mjs', 'package-lock.json', 'tsconfig.json', 'patches'];
const STAMP = join(DIST, '.inputs.json');
/** The launcher's code cache (src/launcher.ts), made for the Node.js that builds: part of the inputs. */
const CODE_CACHE = join(DIST, 'server.bundle.cjs.v8cache');

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
  const present = await Promise.all((previous.outputs ?? []).map((file) => stat(join(ROOT, file)).then(() => true, () => false)));
  if (present.length && present.every(Boolean) && existsSync(CODE_CACHE)) process.exit(0);
}

let outputs;
const common = {
  write: false,
  absWorkingDir: ROOT,
  bundle: true,
  platform: 'node',
  target: 'node22.12',
  external: EXTERNAL,
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
};
try {
  const [commands, service] = await Promise.all([
    build({
      ...common,
      entryPoints: ENTRY_POINTS,
      outdir: 'dist',
      outbase: 'src',
      splitting: true,
      chunkNames: 'chunks/[name]-[hash]',
      format: 'esm',
      plugins: [builtinsWithoutFacade, ownFiles],
      banner: { js: BANNER },
    }),
    build({
      ...common,
      entryPoints: [SERVICE.entry],
      outfile: SERVICE.outfile,
      format: 'cjs',
      // no import(): vm.Script runs the bundle without a module loader (externals are require()d; PGlite has a CommonJS build)
      supported: { 'dynamic-import': false },
      define: { 'import.meta.url': '__importMetaUrl' },
      // without comments and indentation it is all ASCII and a third smaller: a one-byte string for V8,
      // 12 MB less at start (names stay; dist/server.bundle.cjs.map maps the rest)
      minifyWhitespace: true,
      plugins: [ownFiles],
      banner: { js: CJS_BANNER },
    }),
  ]);
  outputs = [...commands.outputFiles, ...service.outputFiles];
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
  // a .tmp file is another build's, about to be renamed; a .v8cache file is the launcher's code
  // cache (src/launcher.ts), which says itself which bundle it was made for
  if (entry.isFile() && !built.has(path) && !/\.(tmp|v8cache)$/.test(path) && path !== STAMP) await rm(path, { force: true });
}
// a start of the new bundle without a database (src/warm-up.ts), whose compiled code the
// launcher keeps: every start after it begins with the bundle's functions compiled
try {
  execFileSync(process.execPath, [join(DIST, 'server.js'), '--write-code-cache'], { cwd: ROOT, stdio: 'inherit' });
} catch {
  console.error('npm run build: the bundle did not start (node dist/server.js --write-code-cache)');
  process.exit(1);
}
const temporaryStamp = `${STAMP}.${process.pid}.tmp`;
await writeFile(temporaryStamp, JSON.stringify({ inputs, outputs: [...built].map((path) => relative(ROOT, path)) }));
await rename(temporaryStamp, STAMP);
