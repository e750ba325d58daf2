/**
 * A PostgreSQL cluster of the test's own (initdb in a temporary directory, a free port), for the
 * tests that restart or kill the server: the shared one on 5432 serves every other test file.
 * Run as the `postgres` OS user when the tests run as root (initdb refuses root).
 */
import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PrivatePostgres {
  port: number;
  /** postgres://postgres@127.0.0.1:port/<database> */
  url(database?: string): string;
  /** pg_ctl restart: `fast` (clients are told), `immediate` (a crash: recovery on start). */
  restart(mode: 'fast' | 'immediate'): Promise<void>;
  /** Stopped and its directory removed. */
  destroy: () => Promise<void>;
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/** Runs a PostgreSQL binary as its own user when we are root. */
function pgTool(tool: string, args: string[]) {
  const asRoot = userInfo().uid === 0;
  return asRoot ? exec('runuser', ['-u', 'postgres', '--', join(BIN, tool), ...args]) : exec(join(BIN, tool), args);
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'bo-pg-'));
  if (userInfo().uid === 0) {
    const { uid, gid } = statSync('/var/lib/postgresql');
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const port = await freePort();
  await pgTool('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  // its socket in its own directory; small, quick to restart; logs beside the data
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off -c max_connections=60`;
  const pgCtl = (...args: string[]) => pgTool('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', ...args]);
  await pgCtl('-o', options, 'start');
  let running = true;
  return {
    port,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    restart: async (mode) => void (await pgCtl('-m', mode, 'restart')),
    destroy: async () => {
      if (running) await pgCtl('-m', 'immediate', 'stop').catch(() => undefined);
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
