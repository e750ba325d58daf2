/** `.env` in the working directory is read when present, and a variable set in the environment wins over it. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { PROJECT_ROOT } from '../helpers/commands.js';
import { copyPgliteTemplate } from '../helpers/pglite.js';
import { outputOnceItSays, startServer } from '../helpers/server.js';

t.test('the service reads .env in its working directory (npm start: the project); the environment wins', async (t) => {
  // the project's own .env cannot be used: the other test files start servers in the project at the same time
  const cwd = mkdtempSync(join(tmpdir(), 'bo-dotenv-'));
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }));
  writeFileSync(join(cwd, '.env'), 'PGLITE_DATA_DIR=./from-dotenv\nPORT=1\nADMIN_EMAIL=owner@nk-food.shop\n');
  // an empty database the chain has run on: the first start of a new installation, less PGlite's initdb and the chain
  await copyPgliteTemplate('migrated', join(cwd, 'from-dotenv'));
  const server = await startServer({ DATABASE_URL: '', JWT_SECRET: '', PORT: '0' }, 120_000, {
    command: [process.execPath, join(PROJECT_ROOT, 'dist/server.js')],
    cwd,
  });
  t.teardown(() => server.child.kill('SIGKILL'));
  t.match(server.output(), /database: PGlite in \.\/from-dotenv/, 'PGLITE_DATA_DIR from .env');
  // printed after the line the helper waits for, perhaps in a later chunk of output
  t.match(await outputOnceItSays(server, /First admin created/), /First admin created: owner@nk-food\.shop/, 'ADMIN_EMAIL from .env');
  t.not(server.port, 1, 'PORT from the environment, not from .env');
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0);
});
