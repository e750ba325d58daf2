/** The real server process, started as `npm start` would start it (the same command), on a free port. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT, untracked } from './commands.js';

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  output(): string;
  exited: Promise<number | null>;
  url(path: string): string;
}

const startCommand = () => {
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
  return pkg.scripts.start.replace(/^exec /, '').split(' ');
};

/**
 * Spawns `npm start`'s command (or `command`, e.g. npm start itself, in `cwd`) with PORT=0 and
 * resolves once it listens (or rejects with its output).
 */
export function startServer(
  env: Record<string, string>,
  timeoutMs = 120_000,
  { command: [command, ...args] = startCommand(), cwd = PROJECT_ROOT }: { command?: string[]; cwd?: string } = {},
): Promise<ServerProcess> {
  const [file, fileArgs, serverEnv] = untracked(command!, args, {
    PORT: '0',
    METRICS_PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    JWT_SECRET: 'a-test-secret-that-is-at-least-32-characters',
    // no load shedding, as in the in-process test apps: on a CI machine with every core busy, a
    // server that has just started (its schemas compiling) answered a login 503 OVERLOADED
    MAX_EVENT_LOOP_DELAY: '0',
    ...env,
  });
  const child = spawn(file, fileArgs, { cwd, env: serverEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  // 'close', not 'exit': by then the child's output has all been read (on 'exit' it may not have arrived)
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const check = setInterval(() => {
      const match = output.match(/listening on http:\/\/[^:]+:(\d+)/);
      if (match) {
        clearInterval(check);
        clearTimeout(timer);
        const port = Number(match[1]);
        resolve({ child, port, output: () => output, exited, url: (path) => `http://127.0.0.1:${port}${path}` });
      }
    }, 50);
    void exited.then((code) => {
      clearInterval(check);
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${output}`));
    });
  });
}

/**
 * The server's output once it says `pattern`, or after `timeoutMs` as it is (for the caller's
 * assertion to show): lines after the listening line may arrive later, and stderr apart from stdout.
 */
export async function outputOnceItSays(server: ServerProcess, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  for (const started = Date.now(); !pattern.test(server.output()) && Date.now() - started < timeoutMs;) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return server.output();
}
