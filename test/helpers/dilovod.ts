/**
 * A local stand-in for Dilovod's API (a real HTTP server on port 0), answering as the old back office
 * read it: `POST` JSON `{version, key, action, params}`; `request` on catalogs.goods, goodsPrices and
 * barCodes (sliceLast), `getObject`; errors as HTTP 200 `{"error": …}`. Its answers are the fixtures
 * under test/fixtures/dilovod/ (made from the legacy backup's products: the catalogue the old back
 * office synced, with barcodes, and two goods new since). `mode` says how it behaves now.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from '../../src/app.js';

type Row = Record<string, string>;
const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../fixtures/dilovod/${name}.json`, import.meta.url), 'utf8'));
export const GOODS = fixture<Row[]>('catalogs.goods');
export const PRICES = fixture<Row[]>('goodsPrices');
export const BARCODES = fixture<Row[]>('barCodes');
export const OBJECTS = fixture<Record<string, unknown>>('getObject');
export const DILOVOD_KEY = 'dilovod-api-key-never-shown-0123456789';

export type DilovodMode =
  /** answers every call */
  | 'up'
  /** 503 to every call */
  | 'down'
  /** answers after `delay` ms */
  | 'slow'
  /** HTTP 200 {"error": …}, echoing the key as a careless server might */
  | 'error'
  /** "multithreadApiSession" to the next call only, then up */
  | 'busy-once'
  /** catalogs.goods and goodsPrices without their second half */
  | 'partial'
  /** goodsPrices never answers until `release()` */
  | 'hang';

interface Interface {
  url: string;
  mode: DilovodMode;
  delay: number;
  /** Every call: its action and what it asked for. */
  calls: { action: string; from: string; key: unknown }[];
  /** The most calls it answered at once. */
  maxConcurrent: number;
  /** A hanging call has arrived. */
  hanging: Promise<void>;
  release(): void;
  close(): Promise<void>;
}

export async function dilovodStandIn(): Promise<Interface> {
  let concurrent = 0;
  let arrived: () => void = () => {};
  let released: () => void = () => {};
  let releasing = new Promise<void>((resolve) => (released = resolve));
  const self: Interface = {
    url: '',
    mode: 'up',
    delay: 0,
    calls: [],
    maxConcurrent: 0,
    hanging: new Promise<void>((resolve) => (arrived = resolve)),
    release: () => {
      released();
      releasing = new Promise<void>((resolve) => (released = resolve));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve()).closeAllConnections()),
  };
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => void answer());
    const answer = async () => {
      concurrent++;
      self.maxConcurrent = Math.max(self.maxConcurrent, concurrent);
      const json = (value: unknown) =>
        !response.destroyed && response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      try {
        const { key, action, params } = JSON.parse(body);
        const from = typeof params?.from === 'string' ? params.from : (params?.from?.register ?? action);
        self.calls.push({ action, from, key });
        if (self.mode === 'slow') await new Promise((resolve) => setTimeout(resolve, self.delay));
        if (self.mode === 'down')
          return response.writeHead(503, { 'content-type': 'text/html' }).end('<h1>503 Service Temporarily Unavailable</h1>');
        if (self.mode === 'error') return json({ error: `Access denied for key ${key}` });
        if (self.mode === 'busy-once') {
          self.mode = 'up';
          return json({ error: 'multithreadApiSession: another request of this key is running' });
        }
        if (key !== DILOVOD_KEY) return json({ error: 'Invalid API key' });
        if (self.mode === 'hang' && from === 'goodsPrices') {
          arrived();
          await releasing;
        }
        const half = <T>(rows: T[]) => (self.mode === 'partial' ? rows.slice(0, Math.floor(rows.length / 2)) : rows);
        if (action === 'getObject') return json(OBJECTS[params.id] ?? { error: `Object ${params.id} not found` });
        if (from === 'catalogs.goods') return json(half(GOODS));
        if (from === 'goodsPrices') return json(half(PRICES));
        if (from === 'barCodes') {
          const wanted = new Set<string>(params.filters[0].value);
          return json(BARCODES.filter((row) => wanted.has(row.object!)));
        }
        json({ error: `unknown request ${from}` });
      } finally {
        concurrent--;
      }
    };
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  self.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
  return self;
}

/** The service's settings for the stand-in (the legacy backup's sets sit in folder 1100300000000). */
export const dilovodConfig = (url: string) => ({
  url,
  apiKey: DILOVOD_KEY,
  syncInterval: 0,
  timeout: 1,
  retries: 2,
  retryDelay: 0,
  maxChangeShare: 10,
  setParentIds: ['1100300000000'],
  mainPriceType: '1101300000001001',
});

export interface Run {
  id: string;
  state: string;
  trigger: string;
  created: number | null;
  changed: number | null;
  unchanged: number | null;
  outdated: number | null;
  error: string | null;
  durationMs: number | null;
}

/** POST /products/sync (202 at once), then the run once it has ended. */
export async function syncRun(app: App, headers: Record<string, string>, query = ''): Promise<Run> {
  const started = await app.inject({ method: 'POST', url: `/api/v1/products/sync${query}`, headers });
  if (started.statusCode !== 202) throw new Error(`POST /products/sync: ${started.statusCode} ${started.body}`);
  return runEnded(app, headers, started.json<Run>().id);
}

/** The run once it has ended; a 503 (overloaded, or the database away: nothing read) is asked again. */
export async function runEnded(app: App, headers: Record<string, string>, id: string): Promise<Run> {
  for (;;) {
    const res = await app.inject({ url: `/api/v1/products/sync/runs/${id}`, headers });
    if (res.statusCode !== 200 && res.statusCode !== 503) throw new Error(`GET /products/sync/runs/${id}: ${res.statusCode} ${res.body}`);
    const run = res.json<Run>();
    if (res.statusCode === 200 && run.state !== 'queued' && run.state !== 'running') return run;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
