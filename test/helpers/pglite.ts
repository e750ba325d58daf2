/**
 * PGlite data folders for tests, copied from prepared ones as the scratch databases are copied from
 * templates: a new folder costs PGlite's initdb (about 3 s of CPU) and the chain run in WebAssembly
 * costs far more. A prepared folder is built once, under an advisory lock on the test PostgreSQL,
 * named after a hash of what it is built from, and reused by later runs; each test copies it.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type postgres from 'postgres';
import { openPglite } from '../../src/db/client.js';
import { runMigrations } from '../../src/migrate/migrator.js';
import { PROJECT_ROOT } from './commands.js';
import { backupText, chainText, fingerprint, STALE_AFTER_MS, withAdmin } from './databases.js';

const PGLITE_VERSION = (
  JSON.parse(readFileSync(join(PROJECT_ROOT, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')) as { version: string }
).version;
const PREFIX = 'bo-pglite-tpl-';

/** What a prepared folder holds: the legacy backup; the backup restructured by the chain; an empty database the chain ran on. */
export type PgliteTemplate = 'legacy' | 'legacy-migrated' | 'migrated';

const TEMPLATES: Record<PgliteTemplate, { parts: () => string[]; build: (dataDir: string) => Promise<void> }> = {
  legacy: {
    parts: () => [backupText()],
    build: async (dataDir) => {
      const pg = await openPglite(dataDir);
      try {
        await pg.exec(backupText());
      } finally {
        await pg.close();
      }
    },
  },
  'legacy-migrated': {
    parts: () => [backupText(), chainText()],
    build: async (dataDir) => {
      cpSync(await preparedFolder('legacy'), dataDir, { recursive: true });
      await runMigrations({ dataDir }, async () => undefined);
    },
  },
  migrated: {
    parts: () => [chainText()],
    build: async (dataDir) => void (await runMigrations({ dataDir }, async () => undefined)),
  },
};

const lockKey = (name: string) => `pglite:${name}`;

/** The prepared folder of `template`, built first if no run has built it. */
async function preparedFolder(template: PgliteTemplate): Promise<string> {
  const name = `${PREFIX}${template}-${fingerprint(PGLITE_VERSION, ...TEMPLATES[template].parts())}`;
  const dir = join(tmpdir(), name);
  await withAdmin(async (sql) => {
    await sql`select pg_advisory_lock(hashtext(${lockKey(name)}))`;
    try {
      if (!statSync(dir, { throwIfNoEntry: false })) {
        const building = mkdtempSync(`${dir}-building-`);
        await TEMPLATES[template].build(building);
        renameSync(building, dir);
        await dropStaleFolders(sql, name);
      }
      const now = new Date();
      utimesSync(dir, now, now);
    } finally {
      await sql`select pg_advisory_unlock(hashtext(${lockKey(name)}))`;
    }
  });
  return dir;
}

/** Prepared folders of other backups or chains that no run has used for a day, each under its own lock. */
async function dropStaleFolders(sql: postgres.Sql, current: string) {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(PREFIX) || name === current) continue;
    const dir = join(tmpdir(), name);
    if (Date.now() - statSync(dir).mtimeMs < STALE_AFTER_MS) continue;
    const [locked] = await sql<{ ok: boolean }[]>`select pg_try_advisory_lock(hashtext(${lockKey(name)})) as ok`;
    if (!locked?.ok) continue;
    try {
      rmSync(dir, { recursive: true, force: true });
    } finally {
      await sql`select pg_advisory_unlock(hashtext(${lockKey(name)}))`;
    }
  }
}

/**
 * A PGlite data folder of the test's own, removed when the test ends: empty (no database yet), or a
 * copy of a prepared folder.
 */
export async function pgliteFolder(t: { teardown(fn: () => void): void }, template?: PgliteTemplate): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bo-pglite-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  if (template) await copyPgliteTemplate(template, dataDir);
  return dataDir;
}

/** Copies the prepared folder of `template` to `dataDir`, under a shared lock that keeps it from being dropped as stale meanwhile. */
export async function copyPgliteTemplate(template: PgliteTemplate, dataDir: string) {
  const source = await preparedFolder(template);
  await withAdmin(async (sql) => {
    const name = source.slice(tmpdir().length + 1);
    await sql`select pg_advisory_lock_shared(hashtext(${lockKey(name)}))`;
    try {
      cpSync(source, dataDir, { recursive: true });
    } finally {
      await sql`select pg_advisory_unlock_shared(hashtext(${lockKey(name)}))`;
    }
  });
}
