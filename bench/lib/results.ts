/** bench/RESULTS.md: each benchmark owns the section between its own markers. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { withDatabase } from './pg.js';

export const seconds = (s: number) => `${s.toFixed(s < 10 ? 2 : 1)} s`;
export const count = (n: number) => n.toLocaleString('en-US');
export function bytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GB`;
  return `${(n / 1024 ** 2).toFixed(n >= 100 * 1024 ** 2 ? 0 : 1)} MB`;
}

const packageVersion = (name: string) =>
  (JSON.parse(readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;

const SETTINGS = ['shared_buffers', 'maintenance_work_mem', 'max_parallel_maintenance_workers', 'wal_level'];

/** Markdown lines describing the machine and software the figures come from (`packages`: their versions). */
export async function machine(packages = ['drizzle-orm', 'drizzle-kit'], { postgres = true } = {}): Promise<string[]> {
  const server =
    postgres &&
    (await withDatabase('postgres', async (sql) => {
      const [version] = await sql`select current_setting('server_version') as v`;
      const settings = await sql`select name, setting, unit from pg_settings where name = any(${SETTINGS})`;
      return { version: version!.v as string, settings: settings.map((s) => `${s.name} ${s.setting}${s.unit ?? ''}`).join(', ') };
    }));
  return [
    `- CPU: ${availableParallelism()} × ${cpus()[0]?.model ?? 'unknown'}; memory ${bytes(totalmem())}`,
    ...(server ? [`- PostgreSQL ${server.version} on the same machine (${server.settings})`] : []),
    `- Node.js ${process.version}, ${packages.map((p) => `${p} ${packageVersion(p)}`).join(', ')}`,
  ];
}

/** Replaces the text between `<!-- name:start -->` and `<!-- name:end -->`, appending the section if absent. */
export function writeSection(file: URL, name: string, body: string) {
  const [start, end] = [`<!-- ${name}:start -->`, `<!-- ${name}:end -->`];
  const section = `${start}\n${body.trim()}\n${end}`;
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
  const [from, to] = [old.indexOf(start), old.indexOf(end)];
  const next = from >= 0 && to > from ? old.slice(0, from) + section + old.slice(to + end.length) : `${old.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, next);
}
