/**
 * How the API's cost grows with the orders: every bench/api-<orders>.json that bench/api.ts wrote,
 * side by side (the "api" section of bench/RESULTS.md), and the service's p50 and p99 per endpoint
 * against the orders (bench/api-scale-p50.svg, bench/api-scale-p99.svg).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { lineChart } from '../chart.js';
import type { Figures } from './load.js';
import { LOADED_CORES } from './machine-load.js';
import { bytes, count, writeSection } from './results.js';

export interface SizeRun {
  orders: number;
  date: string;
  command: string;
  /** Some figure of the run was measured beside other work. */
  loaded: boolean;
  endpoints: {
    key: string;
    viaBouncer: boolean;
    name: string;
    service: Figures;
    against: { name: string; figures: Figures; sameSql?: boolean; sameBody?: boolean }[];
  }[];
  memory: Record<string, { idle: number; peak: number; loginPeak?: number }>;
}

const BENCH = new URL('../', import.meta.url);
/** The baseline's own handlers answered through bare Fastify (bench/baseline-server.ts, BASELINE_HTTP=fastify). */
export const FLOOR = 'baseline on bare Fastify';
const KEYS: [key: string, label: string][] = [
  ['list', 'list, first page'],
  ['deep', 'list, deep cursor'],
  ['read', 'read by id'],
  ['counts', 'counts'],
  ['search', 'search (TTN ending)'],
  ['view', 'one-call view (include=history)'],
  ['refresh', 'refresh'],
  ['webhook', 'SalesDrive webhook'],
  ['login', 'login'],
];
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#17becf'];

const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));
const loadedMark = (x: Figures) => ((x.load?.others ?? 0) > LOADED_CORES ? '*' : '');

export function readRuns(): SizeRun[] {
  return readdirSync(BENCH)
    .filter((name) => /^api-\d+\.json$/.test(name))
    .map((name) => JSON.parse(readFileSync(new URL(name, BENCH), 'utf8')) as SizeRun)
    .sort((a, b) => a.orders - b.orders);
}

export function writeScale(say: (line: string) => void = () => {}) {
  const runs = readRuns();
  const sizes = runs.map((r) => count(r.orders));
  const find = (run: SizeRun, key: string, viaBouncer: boolean) => run.endpoints.find((e) => e.key === key && e.viaBouncer === viaBouncer);
  const rows: string[] = [];
  for (const viaBouncer of [false, true]) {
    for (const [key, label] of KEYS) {
      const cells = runs.map((run) => {
        const e = find(run, key, viaBouncer);
        if (!e) return ['', '', ''];
        const against = e.against[0]!.figures;
        return [
          `${ms(e.service.p50)} / ${ms(e.service.p99)}${loadedMark(e.service)}`,
          `${ms(against.p50)} / ${ms(against.p99)}${loadedMark(against)}`,
          `**${(e.service.okRps / against.okRps).toFixed(2)}**`,
        ];
      });
      if (cells.every((c) => c[0] === '')) continue;
      rows.push(`| ${label}${viaBouncer ? ', via PgBouncer' : ''} | ${cells.flat().join(' | ')} |`);
    }
  }
  // service / baseline = (floor / baseline) × (service / floor): what Fastify itself costs, and what the service adds to it
  const floorRows = KEYS.flatMap(([key, label]) => {
    const cells = runs.map((run) => {
      const e = find(run, key, false);
      const [baseline, floor] = [e?.against[0]?.figures, e?.against.find((a) => a.name === FLOOR)?.figures];
      if (!e || !baseline || !floor) return ['', ''];
      return [`**${(floor.okRps / baseline.okRps).toFixed(2)}**`, `${(e.service.okRps / floor.okRps).toFixed(2)}`];
    });
    return cells.every((c) => c[0] === '') ? [] : [`| ${label} | ${cells.flat().join(' | ')} |`];
  });
  const memory = runs.map((run) => {
    const [service, baseline] = [run.memory.service!, run.memory.baseline!];
    const logins = service.loginPeak ? bytes(service.loginPeak) : '';
    return `| ${count(run.orders)} | ${bytes(service.peak)} | ${bytes(baseline.peak)} | **${(service.peak / baseline.peak).toFixed(2)}** | ${bytes(service.idle)} | ${bytes(baseline.idle)} | ${logins} |`;
  });
  const chart = (p: 'p50' | 'p99') =>
    lineChart({
      title: `The service's ${p} per endpoint, direct`,
      xLabel: 'orders (millions)',
      yLabel: `${p}, ms`,
      formatX: (x) => String(x),
      series: KEYS.map(([key, label], i) => ({
        name: label.replace(/ \(.*\)$/, ''),
        color: COLORS[i]!,
        points: runs.flatMap((run): [number, number][] => {
          const e = find(run, key, false);
          return e ? [[run.orders / 1e6, e.service[p]]] : [];
        }),
      })).filter((s) => s.points.length > 0),
    });
  for (const p of ['p50', 'p99'] as const) writeFileSync(new URL(`api-scale-${p}.svg`, BENCH), chart(p));

  writeSection(
    new URL('RESULTS.md', BENCH),
    'api',
    [
      '## The API under load',
      '',
      `bench/api.ts at each size (\`npx tsx bench/api.ts --orders N\`; each run's own section below has every figure,`,
      'the load beside it, the SQL, the memory): the service and its `node:http` baseline doing the same work (the SQL, the token, the ETag) on',
      'the same database, alternated. p50 / p99 in ms over every request of the turns; the ratio is service / baseline',
      'in 2xx responses per second (login: against argon2id verify in the benchmark process, at the same concurrency).',
      `A figure marked * was measured while other processes kept more than ${LOADED_CORES} cores busy.`,
      '',
      ...runs.map(
        (run) =>
          `- ${count(run.orders)} orders: ${run.date.slice(0, 16).replace('T', ' ')} UTC${run.loaded ? ', **some figures on a loaded machine** (marked *)' : ', quiet'}`,
      ),
      '',
      `| endpoint | ${sizes.map((s) => `${s}: service | baseline | ratio`).join(' | ')} |`,
      `| --- | ${sizes.map(() => '---: | ---: | ---:').join(' | ')} |`,
      ...rows,
      '',
      '![p50 per endpoint against the orders](api-scale-p50.svg) ![p99 per endpoint against the orders](api-scale-p99.svg)',
      '',
      ...(floorRows.length
        ? [
            "**The framework's floor.** The baseline's own handlers, SQL and JSON answered through bare Fastify (one",
            'catch-all route, no logger, no schema, no hook; `BASELINE_HTTP=fastify`), in the same turns, direct: what',
            'Fastify itself costs against `node:http` ("Fastify / baseline"), and what the service does beyond a bare',
            'Fastify route ("service / Fastify": routing, validation, the log line, metrics, load shedding, drizzle). The',
            "service's ratio above is the product of the two.",
            '',
            `| endpoint | ${sizes.map((s) => `${s}: Fastify / baseline | service / Fastify`).join(' | ')} |`,
            `| --- | ${sizes.map(() => '---: | ---:').join(' | ')} |`,
            ...floorRows,
            '',
          ]
        : []),
      'Peak RSS under load (the highest of samples every 100 ms through the loads of the endpoints both servers answer),',
      "idle after the warm-up, and the service's peak during the logins, which the baseline does not answer (argon2id",
      "takes 19 MiB per verify, several at once on libuv's threads; runs before 2026-12-07 evening counted them in the peak):",
      '',
      '| orders | service, peak | baseline, peak | ratio | service, idle | baseline, idle | service, peak during logins |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...memory,
    ].join('\n'),
  );
  say('wrote the api section of bench/RESULTS.md and bench/api-scale-p50.svg, bench/api-scale-p99.svg');
}
