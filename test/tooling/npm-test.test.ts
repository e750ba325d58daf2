/** `npm test` where no PostgreSQL answers: one clear line and a non-zero exit, before any test runs. */
import { spawn } from 'node:child_process';
import t from 'tap';
import { PROJECT_ROOT, untracked } from '../helpers/commands.js';

t.test('npm test without PostgreSQL says what to do, and fails', async (t) => {
  const [file, args, env] = untracked('npm', ['test'], { PG_ADMIN_URL: 'postgres://postgres:Pg-Passw0rd@127.0.0.1:1/postgres' });
  const child = spawn(file, args, {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: were the check to pass, the whole nested suite is stopped below
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const stopper = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 60_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(stopper);
  t.equal(code, 1, 'exit 1');
  const said = output.split('\n').filter((line) => line.trim() && !line.startsWith('>'));
  t.same(
    said,
    [
      'npm test needs PostgreSQL 15 or newer at postgres://postgres:***@127.0.0.1:1/postgres (connect ECONNREFUSED 127.0.0.1:1): ' +
        'start it (user postgres, no password), or set PG_ADMIN_URL=postgres://user@host:port/postgres.',
    ],
    'one line, no stack, no password',
  );
});
