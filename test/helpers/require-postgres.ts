/**
 * `npm test`, first: is the PostgreSQL the tests use there? If not, one line saying what to do,
 * and exit 1, instead of a stack trace per test file.
 */
import postgres from 'postgres';
import { maskedUrl } from '../../src/config.js';
import { ADMIN_URL } from './databases.js';

const sql = postgres(ADMIN_URL, { max: 1, connect_timeout: 5, onnotice: () => {} });
try {
  const [{ version }] = await sql<[{ version: number }]>`select current_setting('server_version_num')::int as version`;
  if (version < 150000) {
    console.error(`npm test needs PostgreSQL 15 or newer; ${maskedUrl(ADMIN_URL) ?? 'PG_ADMIN_URL'} runs ${Math.floor(version / 10000)}.`);
    process.exitCode = 1;
  }
} catch (error) {
  const reason = (error as { message?: string }).message ?? String(error);
  console.error(
    `npm test needs PostgreSQL 15 or newer at ${maskedUrl(ADMIN_URL) ?? 'PG_ADMIN_URL'} (${reason}): ` +
      'start it (user postgres, no password), or set PG_ADMIN_URL=postgres://user@host:port/postgres.',
  );
  process.exitCode = 1;
} finally {
  await sql.end({ timeout: 1 });
}
