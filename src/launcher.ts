/**
 * dist/server.js, what `npm start` and the image run: the service's bundle, dist/server.bundle.cjs
 * (src/service.ts and all it imports), run with a V8 code cache of its own.
 *
 * Node's compile cache (NODE_COMPILE_CACHE) keeps only what V8 compiles before a module runs,
 * which for a bundle is little more than its top level: every function a start calls was compiled
 * again at every start, a quarter of its instructions (callgrind). `npm run build` runs
 * `node dist/server.js --write-code-cache`: a start without a database (src/warm-up.ts), after
 * which V8's cache of the bundle holds all it compiled, written beside the bundle. A start uses it
 * only when it was made from these exact bytes (crc32) by this Node.js, and V8 checks its own
 * version and flags again; otherwise the bundle compiles as it always did. Nothing is written at
 * run time: the image's dist/, made by its build stage on its own Node.js, stays read-only.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { crc32 } from 'node:zlib';

const BUNDLE = join(dirname(fileURLToPath(import.meta.url)), 'server.bundle.cjs');
const CODE_CACHE = `${BUNDLE}.v8cache`;

const bytes = readFileSync(BUNDLE);
/** The cache file's first line: which bundle and which Node.js it was made for. */
const key = `${crc32(bytes).toString(16)} ${process.version} ${process.arch}\n`;

function readCache(): Buffer | undefined {
  try {
    const file = readFileSync(CODE_CACHE);
    const header = file.subarray(0, key.length).toString();
    return header === key ? file.subarray(key.length) : undefined;
  } catch {
    return undefined;
  }
}

/** Whole or not at all: a start beside the build reads the old file or the new one. */
function writeCache(data: Buffer): void {
  const temporary = `${CODE_CACHE}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, Buffer.concat([Buffer.from(key), data]));
    renameSync(temporary, CODE_CACHE);
  } finally {
    rmSync(temporary, { force: true });
  }
}

const cachedData = readCache();
// the CommonJS wrapper, on the bundle's first line: its line numbers stay those of the file
const script = new Script(`(function (exports, require, module, __filename, __dirname) {${bytes.toString()}\n})`, { filename: BUNDLE, cachedData });
const bundle = { exports: {} as typeof import('./service.js') };
(script.runInThisContext() as (...args: unknown[]) => void)(bundle.exports, createRequire(BUNDLE), bundle, BUNDLE, dirname(BUNDLE));
if (process.argv[2] === '--write-code-cache') {
  await bundle.exports.warmUp();
  writeCache(script.createCachedData());
  process.exit(0); // not waiting for the sockets to the database that is not there to give up
} else {
  await bundle.exports.startServer();
}
