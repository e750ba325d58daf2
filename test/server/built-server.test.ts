/**
 * The built server as production runs it: `node dist/server.js`, the command of `npm start` and of
 * the image, with NODE_ENV=production, on an empty PostgreSQL database. Its probes, a login of the
 * first admin and a route behind it, /docs and the Swagger UI's files, and a stack trace that names
 * src/. Once from the checkout's own build (npm ci's layout), once from a copy of the checkout
 * whose node_modules is a symlink (pnpm, a workspace, `npm link`), built there: the Swagger UI must
 * find its files wherever node_modules leads.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { PROJECT_ROOT, untracked } from '../helpers/commands.js';
import { scratchDatabase } from '../helpers/databases.js';
import { startServer } from '../helpers/server.js';

const ADMIN = { email: 'first-admin@backoffice.test', password: 'first-Adm1n-Passw0rd!' };
const SWAGGER_UI = join(PROJECT_ROOT, 'node_modules', '@fastify', 'swagger-ui');
/** What the build reads; the rest of the checkout (tests, bench, docs) is not needed to build or run. */
const CHECKOUT = ['src', 'scripts/build.mjs', 'package.json', 'package-lock.json', 'tsconfig.json', 'patches', 'drizzle'];

const scratch = mkdtempSync(join(tmpdir(), 'built-server-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of the checkout whose node_modules is a symlink to this one's, built there by `npm run build`'s script. */
function linkedCheckout(): string {
  const root = join(scratch, 'linked');
  for (const path of CHECKOUT) cpSync(join(PROJECT_ROOT, path), join(root, path), { recursive: true });
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
  const [file, args, env] = untracked(process.execPath, [join(root, 'scripts', 'build.mjs')]);
  execFileSync(file, args, { cwd: root, stdio: 'inherit', env });
  return root;
}

const LAYOUTS = [
  ['npm ci', () => PROJECT_ROOT],
  ['node_modules a symlink', linkedCheckout],
] as const;

for (const [layout, checkout] of LAYOUTS) {
  t.test(`node dist/server.js, ${layout}`, async (t) => {
    const root = checkout();
    const server = join(root, 'dist', 'server.js');
    const db = await scratchDatabase();
    t.teardown(db.drop);
    // the image's build step: the compile cache filled without a database, then used by the start
    const compileCache = join(scratch, `compile-cache-${LAYOUTS.findIndex(([name]) => name === layout)}`);
    const [file, args, warmEnv] = untracked(process.execPath, [server, '--warm-compile-cache'], { NODE_COMPILE_CACHE: compileCache });
    const warm = spawnSync(file, args, { cwd: root, env: warmEnv, encoding: 'utf8' });
    t.equal(warm.status, 0, `--warm-compile-cache exits 0 without a database${warm.status ? `:\n${warm.stderr}` : ''}`);
    t.equal(warm.stdout + warm.stderr, '', 'and says nothing');
    const cached = readdirSync(compileCache, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    t.ok(cached.length > 0, `it leaves Node's compile cache in NODE_COMPILE_CACHE (${cached.length} files)`);

    const env = {
      DATABASE_URL: db.url,
      NODE_ENV: 'production',
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      NODE_COMPILE_CACHE: compileCache,
    };
    const running = await startServer(env, 120_000, { command: [process.execPath, server], cwd: root });
    t.teardown(() => running.child.kill('SIGKILL'));
    const get = (path: string, headers: Record<string, string> = {}) => fetch(running.url(path), { headers });

    for (const probe of ['/livez', '/readyz']) t.equal((await get(probe)).status, 200, `${probe} 200`);

    const login = await fetch(running.url('/api/v1/auth/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ADMIN),
    });
    t.equal(login.status, 200, 'the first admin, created by this start, logs in');
    const { accessToken } = (await login.json()) as { accessToken: string };
    const users = await get('/api/v1/users', { authorization: `Bearer ${accessToken}` });
    t.equal(users.status, 200, 'GET /api/v1/users with its token');
    t.match(await users.text(), ADMIN.email, 'lists the first admin');

    const docs = await get('/docs');
    t.equal(docs.status, 200, '/docs 200');
    t.match(docs.headers.get('content-type'), /^text\/html/, '/docs is a page');
    const files = [
      ['static/logo.svg', /^image\/svg\+xml/],
      ['static/swagger-ui.css', /^text\/css/],
      ['static/swagger-ui-bundle.js', /javascript/],
    ] as const;
    for (const [file, type] of files) {
      const answer = await get(`/docs/${file}`);
      t.equal(answer.status, 200, `/docs/${file} 200`);
      t.match(answer.headers.get('content-type'), type, `/docs/${file} ${type}`);
      t.ok(
        Buffer.from(await answer.arrayBuffer()).equals(readFileSync(join(SWAGGER_UI, file))),
        `/docs/${file} is the installed package's file`,
      );
    }
    const openapi = await get('/docs/json');
    t.equal(openapi.status, 200, '/docs/json, the description the UI reads');
    t.match(await openapi.json(), { openapi: '3.1.0' });

    running.child.kill('SIGTERM');
    t.equal(await running.exited, 0, 'SIGTERM: exits 0');
    t.notMatch(running.output(), /\berror\b/i, 'nothing went wrong on the way');
  });
}

t.test('an error no handler expects prints a stack that names src/ files and lines', async (t) => {
  // a .env that is a directory: process.loadEnvFile throws in readEnvFile, before anything catches it
  const cwd = join(scratch, 'env-is-a-directory');
  mkdirSync(join(cwd, '.env'), { recursive: true });
  const [file, args, env] = untracked(process.execPath, [join(PROJECT_ROOT, 'dist', 'server.js')], { NODE_ENV: 'production' });
  const { status, stderr } = spawnSync(file, args, { cwd, env, encoding: 'utf8' });
  t.equal(status, 1, 'the start fails');
  const line =
    readFileSync(join(PROJECT_ROOT, 'src', 'config.ts'), 'utf8')
      .split('\n')
      .findIndex((l) => l.includes('process.loadEnvFile(')) + 1;
  t.ok(line > 0, `src/config.ts calls process.loadEnvFile on line ${line}`);
  t.match(
    stderr,
    `at readEnvFile (${join(PROJECT_ROOT, 'src', 'config.ts')}:${line}:`,
    'the stack names the source file and line of the throw',
  );
  t.match(
    stderr,
    new RegExp(`at startServer \\(${join(PROJECT_ROOT, 'src', 'server.ts').replaceAll('.', '\\.')}:\\d+:\\d+\\)`),
    'and of its callers',
  );
  t.notMatch(stderr, /dist\/chunks\//, 'not the bundle');
});
