/**
 * Load at a fixed concurrency for a fixed time: HTTP with autocannon (as a library, in this
 * process), or any async function in the same closed loop; and the figures of several runs
 * together (every latency kept, so that percentiles over rounds are exact).
 */
import autocannon from 'autocannon';
import type { Load } from './machine-load.js';

export interface Run {
  seconds: number;
  /** Milliseconds, one per completed request. */
  latencies: number[];
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** CPU time the server (or the task's process) used meanwhile, when measured. */
  cpuSeconds?: number;
  /** How busy the machine was besides (bench/lib/machine-load.ts), when measured. */
  load?: Load;
}

export interface HttpLoad {
  /** http://host:port */
  url: string;
  method?: 'GET' | 'POST';
  /** Fixed path, or a new one for each request. */
  path: string | (() => string);
  headers?: Record<string, string>;
  /** Fixed body, or a new one for each request. */
  body?: string | (() => string);
  /** Sees each response (status, body). */
  onResponse?: (status: number, body: string) => void;
}

export async function httpLoad(target: HttpLoad, connections: number, seconds: number): Promise<Run> {
  const { path, body, onResponse } = target;
  const dynamic = typeof path === 'function' || typeof body === 'function' || onResponse !== undefined;
  const run: Run = { seconds, latencies: [], non2xx: 0, errors: 0 };
  const options: autocannon.Options = {
    url: target.url + (typeof path === 'string' ? path : ''),
    method: target.method ?? 'GET',
    headers: target.headers,
    body: typeof body === 'string' ? body : undefined,
    connections,
    duration: seconds,
    requests: dynamic
      ? [
          {
            setupRequest: (request) => ({
              ...request,
              ...(typeof path === 'function' ? { path: path() } : {}),
              ...(typeof body === 'function' ? { body: body() } : {}),
            }),
            onResponse: onResponse && ((status, text) => onResponse(status, text)),
          },
        ]
      : undefined,
  };
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (error: unknown, result) =>
      error ? reject(error instanceof Error ? error : new Error('autocannon failed')) : resolve(result),
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      run.latencies.push(ms);
      if (status < 200 || status > 299) run.non2xx++;
    });
  });
  return { ...run, seconds: result.duration, errors: result.errors };
}

/** `concurrency` loops, each awaiting `task` again as soon as it settles, for `seconds`; this process's CPU time. */
export async function closedLoop(task: () => Promise<unknown>, concurrency: number, seconds: number): Promise<Run> {
  const run: Run = { seconds, latencies: [], non2xx: 0, errors: 0 };
  const cpu = process.cpuUsage();
  const started = performance.now();
  const end = started + seconds * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      await task().catch(() => run.errors++);
      run.latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const { user, system } = process.cpuUsage(cpu);
  return { ...run, seconds: (performance.now() - started) / 1000, cpuSeconds: (user + system) / 1e6 };
}

export interface Figures {
  requests: number;
  /** Completed requests per second, and 2xx ones (what ratios compare). */
  rps: number;
  okRps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** Milliseconds of CPU per request, when measured. */
  cpuPerRequest?: number;
  /** The highest 1-minute load average as a run started, and the cores other processes kept busy (mean over the runs). */
  load?: Load;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

export function figures(runs: Run[]): Figures {
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const seconds = runs.reduce((sum, r) => sum + r.seconds, 0);
  const non2xx = runs.reduce((sum, r) => sum + r.non2xx, 0);
  const cpu = runs.every((r) => r.cpuSeconds !== undefined) ? runs.reduce((sum, r) => sum + r.cpuSeconds!, 0) : undefined;
  return {
    requests: latencies.length,
    rps: latencies.length / seconds,
    okRps: (latencies.length - non2xx) / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    non2xx,
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    cpuPerRequest: cpu === undefined ? undefined : (1000 * cpu) / latencies.length,
    load: runs.every((r) => r.load)
      ? {
          average: Math.max(...runs.map((r) => r.load!.average)),
          others: runs.reduce((sum, r) => sum + r.load!.others * r.seconds, 0) / seconds,
        }
      : undefined,
  };
}
