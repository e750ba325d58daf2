/** Runs the project's npm scripts as an operator would, and collects what they print. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readChain } from '../../src/db/ledger.js';

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; `input` is piped to its stdin (none: an empty stdin). */
export function run(command: string, args: string[], env: Record<string, string | undefined> = {}, cwd = PROJECT_ROOT, input?: string) {
  return new Promise<CommandResult>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.end(input ?? '');
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

type Target = { url: string } | { dataDir: string };
const targetEnv = (target: Target) =>
  'url' in target ? { DATABASE_URL: target.url } : { DATABASE_URL: '', PGLITE_DATA_DIR: target.dataDir };

/** `npm run db:migrate` against a PostgreSQL URL, or against PGlite in a directory. */
export const dbMigrate = (target: Target) => run('npm', ['run', '-s', 'db:migrate'], targetEnv(target));

/** `npm run db:rollback [-- …args]`, likewise. */
export const dbRollback = (target: Target, args: string[] = []) =>
  run('npm', ['run', '-s', 'db:rollback', ...(args.length ? ['--', ...args] : [])], targetEnv(target));

/** The whole chain, as `npm run db:migrate` reports applying it to a database that has none of it. */
export const CHAIN = readChain();
export const APPLIED_WHOLE_CHAIN = new RegExp(`Applied ${CHAIN.length} migration\\(s\\): ${CHAIN.map((m) => m.tag).join(', ')}\\.`);
