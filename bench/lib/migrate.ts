/** Runs the operator's `npm run db:migrate` (or `db:rollback`) on a database, watched, and tells what it rewrote. */
import { spawn } from 'node:child_process';
import { urlFor, withDatabase } from './pg.js';
import { watch, type Observation } from './monitor.js';
import { PROJECT_ROOT } from './processes.js';

/** The tables whose exclusive locks are recorded, by the name they have before each command. */
const WATCHED = {
  'db:migrate': [
    'User',
    'Order',
    'OrderHistory',
    'Product',
    'BoxSettings',
    'WordPressSkuCache',
    'refresh_tokens',
    'DilovodData',
    'SalesDriveData',
  ],
  'db:rollback': ['users', 'orders', 'order_history', 'products', 'box_settings', 'wordpress_sku_cache'],
};

export interface MigrationResult {
  seconds: number;
  exitCode: number | null;
  /** What the command printed (its report, or its error). */
  output: string;
  observation: Observation;
  /** Tables whose rows were written anew (new relfilenode), under their final names. */
  rewritten: string[];
  /** Indexes built: new ones, and the ones a table rewrite rebuilt. */
  built: string[];
}

interface Relation {
  oid: number;
  name: string;
  kind: 'r' | 'i';
  file: number;
}

const catalog = (database: string) =>
  withDatabase(
    database,
    (sql) => sql<Relation[]>`
    select oid::int, relname as name, relkind as kind, relfilenode::int as file from pg_class
     where relnamespace = 'public'::regnamespace and relkind in ('r', 'i')`,
  );

function runCommand(command: string, args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(command, args, { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** Names of the relations of `kind` that are new after, or whose file changed. */
function written(before: Relation[], after: Relation[], kind: Relation['kind']): string[] {
  const files = new Map(before.map((r) => [r.oid, r.file]));
  return after
    .filter((r) => r.kind === kind && files.get(r.oid) !== r.file)
    .map((r) => r.name)
    .sort();
}

export async function runMigration(database: string, script: keyof typeof WATCHED = 'db:migrate'): Promise<MigrationResult> {
  const before = await catalog(database);
  const legacy = new Map(before.filter((r) => r.kind === 'r' && WATCHED[script].includes(r.name)).map((r) => [r.oid, r.name]));
  const watching = await watch(database, legacy);
  const started = performance.now();
  const { code, output } = await runCommand('npm', ['run', '-s', script], { DATABASE_URL: urlFor(database) });
  const seconds = (performance.now() - started) / 1000;
  const observation = await watching.stop();
  const after = await catalog(database);

  // lock spans were recorded under the legacy names: show the names the tables have now
  const current = new Map(after.map((r) => [r.oid, r.name]));
  observation.locks = new Map(
    [...legacy].flatMap(([oid, name]) => {
      const span = observation.locks.get(name);
      return span ? [[current.get(oid) ?? `${name} (dropped)`, span] as const] : [];
    }),
  );
  return {
    seconds,
    exitCode: code,
    output: output.trim(),
    observation,
    rewritten: written(before, after, 'r'),
    built: written(before, after, 'i'),
  };
}
