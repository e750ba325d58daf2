/**
 * dist/server.js, what `npm start` and the image run: Node's compile cache and source maps turned
 * on, then the service (src/server.ts) loaded and started. Both apply only to code compiled after
 * they are on, hence the service's `import()` rather than a static import: with the compile cache,
 * a start after the first reads the code V8 compiled for each file of the bundle instead of
 * compiling it again (NODE_COMPILE_CACHE, or Node's default directory under the OS's temporary
 * one); with source maps, a stack trace names src/ files and lines, not the bundle's.
 *
 * `node dist/server.js --warm-compile-cache` loads the service and exits without starting it: the
 * image's build runs it, so that the cache holds what a start compiles (V8's code, as a file is
 * compiled: nothing of the service runs for it, and no database is needed).
 */
import { enableCompileCache, flushCompileCache } from 'node:module';

enableCompileCache();
process.setSourceMapsEnabled(true);
const { startServer } = await import('./server.js');
if (process.argv[2] !== '--warm-compile-cache') {
  await startServer();
  // written now rather than at exit: a first start that is killed leaves it too
  flushCompileCache();
}
