#!/usr/bin/env node
/**
 * The test files as `npm test` runs them: each bundled by esbuild with what it imports (src/, the
 * helpers, the packages) into test-bundles/, the code they share in chunks. A test process then
 * loads a few files instead of about 900 through tsx's loader, which was most of a small test file's
 * CPU (test/api/schemas.test.ts: 3.1 s, bundled 1.2 s). tap runs the bundles (package.json's
 * `include`); `npx tap test/some.test.ts` still runs a file from its source (test/helpers/loader.mjs).
 * Run before tap lists its files, and again by tap's `before` (test/helpers/build.ts), which finds
 * nothing to do unless a source changed since.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { decode, encode } from '@jridgewell/sourcemap-codec';
import { buildOnce, EXTERNAL, INPUTS } from '../../scripts/build.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The files that take longest, started first: tap starts files in the order of their names, and a
 * run that starts one of these last ends on it alone (wall times of a CI run, 2026-12-07: 70-90 s
 * for the first three, 30-60 s for the rest). Their bundles go to test-bundles/1-first/, the others
 * to test-bundles/2/.
 */
const LONGEST = [
  'import/mysql-import',
  'migrations/rollback',
  'migrations/pglite',
  'server/lifecycle',
  'migrations/down-files',
  'migrations/drift',
  'migrations/rule-breakers',
  'server/salesdrive-push',
  'server/failover',
  'server/built-server',
  'api/order-search',
  'packing/plan',
];

/**
 * The bundled code keeps the `import.meta.url` of the file it was written in (the fixtures, the
 * migrations folder and the checkout are found from it).
 */
const ownImportMetaUrl = {
  name: 'own-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\/(src|test)\/.*\.ts$/ }, async ({ path }) => ({
      contents: (await readFile(path, 'utf8')).replaceAll('import.meta.url', JSON.stringify(pathToFileURL(path).href)),
      loader: 'ts',
    }));
  },
};

/**
 * The bundles' source maps keep only what maps to src/: tap's coverage leaves out a file any of whose
 * sources it excludes (the packages, the tests themselves), and reports what the rest maps to. A
 * generated line of other code then maps to nothing, and counts for no file; a chunk without src/
 * is left out (test/helpers/coverage-map.mjs).
 */
const sourceMapsOfSrcOnly = {
  name: 'source-maps-of-src-only',
  setup(build) {
    build.onEnd((result) => {
      result.outputFiles = result.outputFiles?.map((file) => {
        if (!file.path.endsWith('.map')) return file;
        const map = JSON.parse(file.text);
        const kept = map.sources.map((source) => /^(\.\.\/)+src\//.test(source));
        const newIndex = kept.map((keep, index) => (keep ? kept.slice(0, index).filter(Boolean).length : -1));
        const mappings = decode(map.mappings).map((line) =>
          line
            .filter((segment) => segment.length === 1 || kept[segment[1]])
            .map((segment) => (segment.length === 1 ? segment : [segment[0], newIndex[segment[1]], ...segment.slice(2)])),
        );
        const filtered = {
          ...map,
          sources: map.sources.filter((_, index) => kept[index]),
          sourcesContent: map.sourcesContent?.filter((_, index) => kept[index]),
          mappings: encode(mappings),
        };
        return { path: file.path, contents: Buffer.from(JSON.stringify(filtered)) };
      });
    });
  },
};

async function buildTests() {
  const testFiles = (await readdir(join(ROOT, 'test'), { recursive: true })).filter((file) => file.endsWith('.test.ts')).sort();
  const entryPoints = testFiles.map((file) => {
    const name = file.replace(/\.test\.ts$/, '');
    return { in: join('test', file), out: `${LONGEST.includes(name) ? '1-first' : '2'}/${name}.test` };
  });
  return buildOnce('test-bundles', [...INPUTS, 'test'], {
    entryPoints,
    outExtension: { '.js': '.mjs' },
    // tap's runtime is the runner's (its plugins, its state): loaded as it ships
    external: [...EXTERNAL, 'tap', '@tapjs/*'],
    // for coverage only: tap maps the bundles' coverage back to src/ (sourceMapsOfSrcOnly)
    sourcemap: 'linked',
    plugins: [ownImportMetaUrl, sourceMapsOfSrcOnly],
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await buildTests();
