/**
 * `npm start` without JWT_SECRET on the embedded database: no secret from the source signs tokens,
 * but one made for this installation and kept in its data directory; it listens on 127.0.0.1.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { createSigner } from 'fast-jwt';
import t from 'tap';
import { SECRET_FILE } from '../../src/auth/installation-secret.js';
import { pgliteFolder } from '../helpers/pglite.js';
import { outputOnceItSays, startServer, type ServerProcess } from '../helpers/server.js';

const unset = { JWT_SECRET: '', HOST: '', DATABASE_URL: '', NODE_ENV: 'development' };
const me = (server: ServerProcess, token: string) =>
  fetch(server.url('/api/v1/auth/me'), { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);

t.test('each installation signs with its own secret, kept across restarts', async (t) => {
  // empty databases the chain has run on: new installations, less PGlite's initdb and the chain
  const dataDir = await pgliteFolder(t, 'migrated');
  const otherDir = await pgliteFolder(t, 'migrated');

  const first = await startServer({ ...unset, PGLITE_DATA_DIR: dataDir });
  t.teardown(() => first.child.kill('SIGKILL'));
  t.match(first.output(), /listening on http:\/\/127\.0\.0\.1:/, 'listens on 127.0.0.1 by default');
  const [, email, password] = (await outputOnceItSays(first, /First admin created/)).match(
    /First admin created: (\S+) with password (\S+)/,
  )!;
  const login = await fetch(first.url('/api/v1/auth/login'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const { accessToken } = (await login.json()) as { accessToken: string };
  t.equal(await me(first, accessToken), 200);
  // the secret this service used to publish in its source
  const forged = createSigner({ key: 'development-only-secret-do-not-use-in-production!' })({ sub: '1', role: 'admin' });
  t.equal(await me(first, forged), 401, 'a token signed with a published secret is refused');
  t.equal(statSync(join(dataDir, SECRET_FILE)).mode & 0o777, 0o600, 'the secret is readable by its owner only');
  first.child.kill('SIGTERM');
  t.equal(await first.exited, 0);

  const restarted = await startServer({ ...unset, PGLITE_DATA_DIR: dataDir });
  t.teardown(() => restarted.child.kill('SIGKILL'));
  t.equal(await me(restarted, accessToken), 200, 'a restart keeps the session');
  restarted.child.kill('SIGTERM');
  t.equal(await restarted.exited, 0);

  const other = await startServer({ ...unset, PGLITE_DATA_DIR: otherDir });
  t.teardown(() => other.child.kill('SIGKILL'));
  t.equal(await me(other, accessToken), 401, "another installation refuses this one's token");
  other.child.kill('SIGTERM');
  t.equal(await other.exited, 0);
});
