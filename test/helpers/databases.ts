/**
 * Scratch PostgreSQL databases for tests: each test copies a template (the legacy backup, or the
 * backup already migrated) and drops its copy at the end. Templates are named after a hash of
 * what they are built from, built once under an advisory lock, and reused by later runs.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { readFileSync, readdirSync } from 'node:fs';
import postgres from 'postgres';
import { MIGRATIONS_FOLDER } from '../../src/db/migrations-folder.js';
import { runMigrations } from '../../src/migrate/migrator.js';

export const ADMIN_URL = process.env.PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const LEGACY_BACKUP = new URL('../fixtures/legacy-backup.sql', import.meta.url);

export function urlFor(database: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

/** A postgres.js client in UTC, with notices silenced; callers end it. */
export function connect(url: string, options: postgres.Options<Record<string, never>> = {}) {
  return postgres(url, { max: 1, onnotice: () => {}, connection: { TimeZone: 'UTC' }, ...options });
}

/** `fn` with a client on the admin database (PG_ADMIN_URL), ended afterwards. */
export async function withAdmin<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = connect(ADMIN_URL);
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

export const fingerprint = (...parts: string[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex').slice(0, 12);
};
export const backupText = () => readFileSync(LEGACY_BACKUP, 'utf8');
export const chainText = () =>
  readdirSync(MIGRATIONS_FOLDER)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => readFileSync(`${MIGRATIONS_FOLDER}/${f}`, 'utf8'))
    .join('\n');

/** Creates `name` from a template; retries while another session briefly holds the template. */
async function createFrom(sql: postgres.Sql, name: string, template?: string) {
  for (let attempt = 0; ; attempt++) {
    try {
      await sql.unsafe(`create database "${name}"${template ? ` template "${template}"` : ''}`);
      return;
    } catch (error) {
      const busy = (error as { code?: string }).code === '55006'; // object_in_use: template being copied
      if (!busy || attempt > 50) throw error;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
  }
}

/** A template of another backup or chain unused this long is dropped by the next build of a template. */
export const STALE_AFTER_MS = 24 * 3600 * 1000;
const USED_AT = 'backoffice-api test template, last used at ';

async function ensureTemplate(name: string, build: (url: string) => Promise<void>): Promise<string> {
  return withAdmin(async (sql) => {
    await sql`select pg_advisory_lock(hashtext(${name}))`;
    try {
      const [exists] = await sql`select 1 from pg_database where datname = ${name}`;
      if (!exists) {
        const building = `${name}_building`;
        await sql.unsafe(`drop database if exists "${building}"`);
        await createFrom(sql, building);
        await build(urlFor(building));
        await sql.unsafe(`alter database "${building}" rename to "${name}"`);
        await sql.unsafe(`alter database "${name}" with is_template true`);
        if (process.env.TEST_KEEP_TEMPLATES !== '1') await dropStaleTemplates(sql, name);
      }
      // under this template's lock, so never two at once (concurrent COMMENTs on one database collide)
      await sql.unsafe(`comment on database "${name}" is '${USED_AT}${new Date().toISOString()}'`);
      return name;
    } finally {
      await sql`select pg_advisory_unlock(hashtext(${name}))`;
    }
  });
}

/**
 * Templates of older backups or chains, once no run has used them for a day: a checkout of another
 * chain testing on the same server keeps its own. Each is dropped under its own lock and never with
 * force: one being copied or built right now is left for a later run.
 */
async function dropStaleTemplates(sql: postgres.Sql, current: string) {
  const prefix = current.replace(/_[0-9a-f]+$/, '_');
  const others = await sql<{ datname: string; comment: string | null }[]>`
    select datname, shobj_description(oid, 'pg_database') as comment from pg_database
     where starts_with(datname, ${prefix}) and datname <> ${current} and datname not like '%\_building'`;
  for (const { datname, comment } of others) {
    const usedAt = comment?.startsWith(USED_AT) ? Date.parse(comment.slice(USED_AT.length)) : 0;
    if (Date.now() - usedAt < STALE_AFTER_MS) continue;
    const [locked] = await sql<{ ok: boolean }[]>`select pg_try_advisory_lock(hashtext(${datname})) as ok`;
    if (!locked?.ok) continue;
    try {
      await sql.unsafe(`alter database "${datname}" with is_template false`);
      await sql.unsafe(`drop database if exists "${datname}"`);
    } catch {
      // in use (being copied): a later run drops it; a template again meanwhile
      await sql.unsafe(`alter database "${datname}" with is_template true`).catch(() => {});
    } finally {
      await sql`select pg_advisory_unlock(hashtext(${datname}))`;
    }
  }
}

export async function loadLegacyBackup(url: string) {
  const sql = connect(url);
  try {
    await sql.unsafe(backupText());
  } finally {
    await sql.end();
  }
}

/** The legacy backup, loaded. */
export const legacyTemplate = () => ensureTemplate(`bo_tpl_legacy_${fingerprint(backupText())}`, loadLegacyBackup);

/** The legacy backup, restructured by the chain. */
export const migratedTemplate = () =>
  ensureTemplate(`bo_tpl_migrated_${fingerprint(backupText(), chainText())}`, async (url) => {
    await loadLegacyBackup(url);
    await runMigrations({ url }, async () => undefined);
  });

export interface ScratchDatabase {
  name: string;
  url: string;
  drop: () => Promise<void>;
}

/** A new database, empty or copied from a template; `t.teardown(db.drop)` removes it. */
export async function scratchDatabase(template?: string): Promise<ScratchDatabase> {
  const name = `bo_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withAdmin((sql) => createFrom(sql, name, template));
  return {
    name,
    url: urlFor(name),
    drop: () => withAdmin(async (sql) => void (await sql.unsafe(`drop database if exists "${name}" with (force)`))),
  };
}

/** A scratch database and a client on it, both gone when the test ends. */
export async function scratchWithClient(t: { teardown(fn: () => unknown): void }, template?: string) {
  const db = await scratchDatabase(template);
  const sql = connect(db.url);
  t.teardown(async () => {
    await sql.end();
    await db.drop();
  });
  return { ...db, sql };
}

/** `pg_dump --schema-only`, without the `\restrict` lines that differ on every run (pg_dump 15.14+). */
export async function schemaDump(url: string): Promise<string> {
  const { stdout } = await promisify(execFile)('pg_dump', ['--schema-only', url], { maxBuffer: 64 * 1024 * 1024 });
  return stdout
    .split('\n')
    .filter((line) => !/^\\(un)?restrict /.test(line))
    .join('\n');
}
