/**
 * The launcher's code cache (src/launcher.ts): `npm run build` leaves one that this Node.js accepts
 * for this bundle, and a start with a cache that does not fit its bundle (other bytes, damaged
 * data) compiles the bundle as usual and serves.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { crc32 } from 'node:zlib';
import t from 'tap';
import { PROJECT_ROOT } from '../helpers/commands.js';
import { migratedTemplate, scratchDatabase } from '../helpers/databases.js';
import { startServer, type ServerProcess } from '../helpers/server.js';

const DIST = join(PROJECT_ROOT, 'dist');
const BUNDLE = 'server.bundle.cjs';
const CACHE = `${BUNDLE}.v8cache`;
const headerOf = (bundle: Buffer) => `${crc32(bundle).toString(16)} ${process.version} ${process.arch}\n`;

t.test('npm run build leaves a code cache made for its bundle and this Node.js, which V8 accepts', async (t) => {
  const bundle = readFileSync(join(DIST, BUNDLE));
  const cache = readFileSync(join(DIST, CACHE));
  const header = headerOf(bundle);
  t.equal(cache.subarray(0, header.length).toString(), header, 'its first line names the bundle (crc32) and the Node.js');
  // compiled as the launcher compiles it
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${bundle.toString()}\n})`, {
    filename: join(DIST, BUNDLE),
    cachedData: cache.subarray(header.length),
  });
  t.equal(script.cachedDataRejected, false, 'V8 takes it');
  t.ok(cache.length - header.length > 1_000_000, `it holds more than the top level (${cache.length} bytes)`);
});

t.test('a cache that does not fit its bundle is not used: the start compiles and serves', async (t) => {
  const db = await scratchDatabase(await migratedTemplate());
  t.teardown(db.drop);
  // a copy of dist/ inside the project, so that node_modules and drizzle/ are found as from dist/
  const copy = mkdtempSync(join(PROJECT_ROOT, '.tap', 'code-cache-'));
  t.teardown(() => rmSync(copy, { recursive: true, force: true }));
  cpSync(DIST, copy, { recursive: true });
  const start = async (what: string, check?: (server: ServerProcess) => Promise<void>) => {
    const server = await startServer({ DATABASE_URL: db.url, NODE_ENV: 'production' }, 120_000, { command: [process.execPath, join(copy, 'server.js')] });
    t.teardown(() => server.child.kill('SIGKILL'));
    const ready = await fetch(server.url('/readyz'));
    t.equal(ready.status, 200, `${what}: ready`);
    const login = await fetch(server.url('/api/v1/auth/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'keeper@nk-food.shop', password: 'keeper-Passw0rd!' }),
    });
    t.equal(login.status, 200, `${what}: a login works`);
    await check?.(server);
    server.child.kill('SIGTERM');
    t.equal(await server.exited, 0, `${what}: stops cleanly`);
  };

  // an edit of the same length: V8's own check (the source's length) would take the old cache and
  // run the old code, whose /livez answers "ok"; the launcher's crc32 must refuse it
  const cache = readFileSync(join(copy, CACHE));
  const livez = /app\.get\("\/livez",\s*probe,\s*async\s*\(\)\s*=>\s*\(\{\s*status:\s*"ok"\s*\}\)\)/;
  const source = readFileSync(join(copy, BUNDLE), 'utf8');
  t.match(source, livez, 'the bundle has the /livez handler to edit');
  writeFileSync(join(copy, BUNDLE), source.replace(livez, (handler) => handler.replace('"ok"', '"OK"')));
  await start('a cache made for other bytes of the same length', async (server) => {
    t.same(await (await fetch(server.url('/livez'))).json(), { status: 'OK' }, 'the new code runs, not the cached one');
  });
  t.same(readFileSync(join(copy, CACHE)), cache, 'the cache is left as it is: nothing is written at run time');

  const header = headerOf(readFileSync(join(copy, BUNDLE)));
  writeFileSync(join(copy, CACHE), Buffer.concat([Buffer.from(header), Buffer.alloc(4096, 7)]));
  await start('a damaged cache under the right first line');
});
