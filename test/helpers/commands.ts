/** Runs the project's npm scripts as an operator would, and collects what they print. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readChain } from '../../src/db/ledger.js';

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a child process: this one's and `env`, without tap's coverage. The children run
 * npm or the bundle in dist/, which coverage leaves out: collecting it there only costs CPU (V8's
 * precise coverage, and at exit a JSON file of it with the bundle's source maps). tap's process
 * tracker adds its --import to every child a test spawns whatever NODE_OPTIONS says, and collects
 * coverage there unless _TAPJS_PROCESSINFO_COVERAGE_ is '0' (unset counts as on).
 */
function childEnv(env: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('_TAPJS_PROCESSINFO_')));
  const nodeOptions = (inherited.NODE_OPTIONS ?? '').split(' ').filter((option) => option && !option.includes('@tapjs/processinfo'));
  return { ...inherited, NODE_OPTIONS: nodeOptions.join(' ') || undefined, _TAPJS_PROCESSINFO_COVERAGE_: '0', NO_COLOR: '1', ...env };
}

/**
 * The file, arguments and environment (childEnv's, with `env`) to spawn `command args` with, by way of
 * env(1), which sets NODE_OPTIONS in the child again as that environment has it: tap's process
 * tracker hooks child_process and puts its --import back into every child's NODE_OPTIONS whatever
 * the environment says, and loading it costs each node process 0.26 s of CPU on Node 26 and 0.5 s on
 * Node 22 (about 200 processes a run) to track dist/ code that coverage leaves out.
 */
export function untracked(
  command: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): [file: string, args: string[], env: NodeJS.ProcessEnv] {
  const environment = childEnv(env);
  return ['env', [`NODE_OPTIONS=${environment.NODE_OPTIONS ?? ''}`, command, ...args], environment];
}

/** Runs a command to its end; `input` is piped to its stdin (none: an empty stdin). */
export function run(command: string, args: string[], env: Record<string, string | undefined> = {}, cwd = PROJECT_ROOT, input?: string) {
  return new Promise<CommandResult>((resolve, reject) => {
    const [file, fileArgs, environment] = untracked(command, args, env);
    const child = spawn(file, fileArgs, { cwd, env: environment, stdio: ['pipe', 'pipe', 'pipe'] });
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

/**
 * The command the npm script `name` runs (its `exec node dist/…`, read from package.json, the one
 * place it is written), to be run without npm: npm and the script's build check add about a second
 * of CPU to each call. test/tooling/npm-scripts.test.ts runs each script through npm once.
 */
export function scriptCommand(name: string): string[] {
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string | undefined> };
  const script = pkg.scripts[name];
  if (!script) throw new Error(`package.json has no script ${name}`);
  return script.replace(/^exec /, '').split(' ');
}

/**
 * An npm script's command with `args`, as `npm run -s <name> -- <args>` runs it once built; with
 * `viaNpm`, through npm itself.
 */
export function runScript(
  name: string,
  args: string[],
  env: Record<string, string | undefined> = {},
  { input, viaNpm = false }: { input?: string; viaNpm?: boolean } = {},
) {
  if (viaNpm) return run('npm', ['run', '-s', name, ...(args.length ? ['--', ...args] : [])], env, PROJECT_ROOT, input);
  const [command, ...scriptArgs] = scriptCommand(name);
  return run(command!, [...scriptArgs, ...args], env, PROJECT_ROOT, input);
}

/** `npm run db:migrate` against a PostgreSQL URL, or against PGlite in a directory. */
export const dbMigrate = (target: Target, options?: { viaNpm?: boolean }) => runScript('db:migrate', [], targetEnv(target), options);

/** `npm run db:rollback [-- …args]`, likewise. */
export const dbRollback = (target: Target, args: string[] = [], options?: { viaNpm?: boolean }) =>
  runScript('db:rollback', args, targetEnv(target), options);

/** The whole chain, as `npm run db:migrate` reports applying it to a database that has none of it. */
export const CHAIN = readChain();
export const APPLIED_WHOLE_CHAIN = new RegExp(`Applied ${CHAIN.length} migration\\(s\\): ${CHAIN.map((m) => m.tag).join(', ')}\\.`);
