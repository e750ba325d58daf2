/** Servers as child processes: started on a free port, awaited, watched (RSS), stopped. */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

const handedOut = new Set<number>();

/** A port nothing listens on now, and not one handed out before (its server may still be starting). */
async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const probe = createServer().on('error', reject);
      probe.listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    if (!handedOut.has(port)) return (handedOut.add(port), port);
  }
}

export interface Server {
  pid: number;
  /** http://127.0.0.1:<port> */
  url: string;
  /** Seconds from the spawn until ready() saw it answer 200. */
  readySeconds?: number;
  /** What it printed so far. */
  output(): string;
  /** Polls `path` every `intervalMs` until it answers 200; returns the seconds since the spawn. */
  ready(path?: string, intervalMs?: number): Promise<number>;
  /** SIGTERM, then SIGKILL after 15 s; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * `node [nodeArgs] [--import tsx] <script>` in the project root (tsx for a .ts script), listening
 * on 127.0.0.1 and a free port. `env` is the whole environment of the child.
 */
export async function startNode(script: string, env: NodeJS.ProcessEnv, nodeArgs: string[] = []): Promise<Server> {
  const port = await freePort();
  const spawnedAt = performance.now();
  // JavaScript (dist/, the floors) runs as production runs it, with no loader
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...nodeArgs, ...loader, script], {
    cwd: PROJECT_ROOT,
    env: { METRICS_PORT: '0', ...env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const alive = () => child.exitCode === null && child.signalCode === null;

  const server: Server = {
    pid: child.pid!,
    url,
    output: () => output,
    async ready(path = '/readyz', intervalMs = 50) {
      for (;;) {
        const status = await fetch(url + path).then(
          (r) => r.status,
          () => 0,
        );
        if (status === 200) return (server.readySeconds = (performance.now() - spawnedAt) / 1000);
        if (!alive()) throw new Error(`${script} exited with ${child.exitCode ?? child.signalCode} before it was ready:\n${output}`);
        if (performance.now() - spawnedAt > 600_000) throw new Error(`${script} not ready after 10 minutes:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    },
    async stop() {
      if (alive()) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  return server;
}

/** Resident set size of a process, in bytes (VmRSS of /proc/<pid>/status). */
export function rss(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

let clockTicks: number | undefined;
const ticksPerSecond = () => (clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })));

/** CPU time a process has used so far, user and system, all its threads, in seconds (/proc/<pid>/stat). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' '); // from field 3, state
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond(); // fields 14 and 15: utime, stime
}
/** The kernel's clock ticks per second (CLK_TCK), the unit of /proc's CPU times. */
cpuSeconds.ticksPerSecond = ticksPerSecond;

/** Samples the RSS of each process every `intervalMs` and keeps the highest, until stopped. */
export function watchPeakRss(pids: number[], intervalMs = 100) {
  const peak = new Map(pids.map((pid) => [pid, 0]));
  const sample = () => {
    for (const pid of pids) peak.set(pid, Math.max(peak.get(pid)!, rss(pid)));
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop(): Map<number, number> {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}
