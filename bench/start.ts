/**
 * Start-up cost of the production command: `npx tsx bench/start.ts [--repeat 9]`.
 *
 * `node dist/server.js` (what the image and `npm start` run, after `npm run build`) against the floor,
 * bench/start-floor.mjs (node, node:http and the same driver on the same database, nothing else), in
 * alternate turns: on the migrated 1,000,000-order database (a start that finds nothing to migrate)
 * and on PGlite (a second start on a migrated directory); on PostgreSQL also the same build without
 * Node's compile cache. Each: from the spawn until `GET /readyz` answers 200 (polled every 5 ms), and the CPU time
 * and RSS then. Writes the "start" section of bench/RESULTS.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DATABASE, ensureApiDatabase } from './lib/api-setup.js';
import { urlFor } from './lib/pg.js';
import { cpuSeconds, PROJECT_ROOT, rss, startNode } from './lib/processes.js';
import { bytes, machine, seconds, writeSection } from './lib/results.js';

const { values: options } = parseArgs({ options: { repeat: { type: 'string', default: '9' } } });
const REPEAT = Number(options.repeat);
const COMMAND = ['npx tsx bench/start.ts', ...process.argv.slice(2)].join(' ');
const say = (line: string) => console.log(`[start] ${line}`);
const JWT_SECRET = 'bench-secret-bench-secret-bench-secret!';

interface Sample {
  ready: number;
  rss: number;
  /** CPU time (user and system) used until ready: less moved by a busy machine than the wall clock. */
  cpu: number;
}

async function start(script: string, env: NodeJS.ProcessEnv): Promise<Sample> {
  const server = await startNode(script, env);
  let measured: { ready: number; rss: number; cpu: number };
  let code: number | null;
  try {
    const ready = await server.ready('/readyz', 5);
    measured = { ready, rss: rss(server.pid), cpu: cpuSeconds(server.pid) };
  } finally {
    code = await server.stop();
  }
  if (code !== 0 && code !== null) throw new Error(`${script} exited with ${code} on SIGTERM:\n${server.output()}`);
  return measured;
}

say('npm run build …');
execFileSync('npm', ['run', '-s', 'build'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
await ensureApiDatabase(say);

// as the image runs it (Dockerfile): Node's compile cache in a directory of its own, filled by the
// image's build step (for the floor, by its first start)
const compileCache = mkdtempSync(join(tmpdir(), 'bench-start-cache-'));
const { DATABASE_URL: _, ...environment } = process.env;
const base = { ...environment, NODE_COMPILE_CACHE: compileCache };
execFileSync(process.execPath, ['dist/server.js', '--warm-compile-cache'], { cwd: PROJECT_ROOT, env: base, stdio: 'inherit' });
const postgresEnv = { ...base, DATABASE_URL: urlFor(DATABASE), NODE_ENV: 'production', JWT_SECRET, LOG_LEVEL: 'warn' };
const dataDir = mkdtempSync(join(tmpdir(), 'bench-start-'));
// the same build without Node's compile cache: a start whose cache was not filled or does not fit
const uncachedEnv = { ...postgresEnv, NODE_DISABLE_COMPILE_CACHE: '1' };
const pgliteEnv = { ...base, PGLITE_DATA_DIR: dataDir, NODE_ENV: 'development', JWT_SECRET, LOG_LEVEL: 'warn' };

const samples: Record<string, Sample[]> = { postgres: [], 'postgres floor': [], 'postgres uncached': [], pglite: [], 'pglite floor': [] };
try {
  say('a first start on PGlite creates and migrates its directory …');
  await start('dist/server.js', pgliteEnv);
  for (let i = 0; i < REPEAT; i++) {
    // alternated, the order reversed every other turn
    const turn: [string, () => Promise<Sample>][] = [
      ['postgres', () => start('dist/server.js', postgresEnv)],
      ['postgres floor', () => start('bench/start-floor.mjs', postgresEnv)],
      ['postgres uncached', () => start('dist/server.js', uncachedEnv)],
      ['pglite', () => start('dist/server.js', pgliteEnv)],
      ['pglite floor', () => start('bench/start-floor.mjs', pgliteEnv)],
    ];
    for (const [name, run] of i % 2 ? turn.reverse() : turn) samples[name]!.push(await run());
    say(
      `${i + 1}/${REPEAT}: ${Object.entries(samples)
        .map(([name, xs]) => `${name} ${seconds(xs.at(-1)!.ready)}`)
        .join(', ')}`,
    );
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(compileCache, { recursive: true, force: true });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const of = (name: string, key: keyof Sample) => median(samples[name]!.map((s) => s[key]));
const row = (label: string, name: string, floor: string) => {
  const [ready, memory, cpu] = [of(name, 'ready'), of(name, 'rss'), of(name, 'cpu')];
  const ratio = (key: keyof Sample, bold = true) => {
    if (name === floor) return '';
    const value = (of(name, key) / of(floor, key)).toFixed(2);
    return bold ? `**${value}**` : value;
  };
  return `| ${label} | ${seconds(ready)} | ${samples[name]!.map((s) => seconds(s.ready)).join(', ')} | ${seconds(cpu)} | ${bytes(memory)} | ${ratio('ready')} | ${ratio('cpu', false)} | ${ratio('rss')} |`;
};

writeSection(
  new URL('./RESULTS.md', import.meta.url),
  'start',
  [
    '## Start-up: the production command against the floor',
    '',
    `\`${COMMAND}\`, ${new Date().toISOString().slice(0, 10)} (the machine was shared with other work: ratios, measured in`,
    'alternate turns of one run, are what to read):',
    '',
    ...(await machine(['postgres', '@electric-sql/pglite', 'fastify', 'drizzle-orm'])),
    '',
    '`node dist/server.js`, what the image runs and `npm start` runs after its build: the esbuild bundle run by',
    "plain node, no tsx, with Node's compile cache and source maps on (src/main.ts); NODE_ENV=production on",
    "PostgreSQL. As in the image, `NODE_COMPILE_CACHE` is set (both sides) and filled by the image's build step,",
    '`node dist/server.js --warm-compile-cache` (the floor fills it at its first start). Against the floor:',
    'bench/start-floor.mjs, node, node:http and the same driver on the same database (postgres.js, or PGlite on',
    'the same directory), whose `/readyz` answers once a `select 1` did. "Without the compile cache": the same',
    'build with `NODE_DISABLE_COMPILE_CACHE=1`, as a start whose cache is empty or does not fit would be. From the',
    'spawn until `GET /readyz` answered 200 (polled every 5 ms); CPU time (user and system, from /proc) and RSS',
    `(VmRSS) at that moment. ${REPEAT} turns, the five in alternate order; medians. PostgreSQL: the migrated`,
    `1,000,000-order database (\`${DATABASE}\`: 3.25 million history rows); the start finds nothing to migrate`,
    '(asked on the pool, counting no rows). PGlite: a second start on a directory the first start created and',
    'migrated. Goals (issue 20): start-to-ready ≤ 3× the floor, RSS ≤ 2×, with no loader of our own.',
    '',
    '| start | median | each | CPU until ready | RSS when ready | start / floor | CPU / floor | RSS / floor |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |',
    row('service, PostgreSQL 1M orders', 'postgres', 'postgres floor'),
    row('floor, PostgreSQL', 'postgres floor', 'postgres floor'),
    row('service without the compile cache, PostgreSQL', 'postgres uncached', 'postgres floor'),
    row('service, PGlite', 'pglite', 'pglite floor'),
    row('floor, PGlite', 'pglite floor', 'pglite floor'),
  ].join('\n'),
);
say('wrote bench/RESULTS.md (start section)');
