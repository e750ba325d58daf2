/**
 * The embedded default: `npx tsx bench/pglite-start.ts [--repeat 3]`.
 *
 * `npm start`'s command (`node dist/server.js`, built first) with no DATABASE_URL and PGLITE_DATA_DIR
 * a new temporary directory: the first start (creates the database, migrates it, creates the first
 * admin), then, once it has stopped (SIGTERM), a second start on the same directory. Each time from
 * the spawn until `GET /readyz` answers 200, polled every 50 ms. Against it, in the same turns, the
 * same for bench/baseline-server.ts (Node, tsx, node:http, postgres.js; it connects to no database
 * before its first query): what any TypeScript server started this way takes. Writes the "pglite"
 * section of bench/RESULTS.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { PROJECT_ROOT, startNode } from './lib/processes.js';
import { machine, seconds, writeSection } from './lib/results.js';

const { values: options } = parseArgs({ options: { repeat: { type: 'string', default: '3' } } });
const REPEAT = Number(options.repeat);
const COMMAND = ['npx tsx bench/pglite-start.ts', ...process.argv.slice(2)].join(' ');

const { DATABASE_URL: _, ...env } = process.env;
const service = (dataDir: string) =>
  ['dist/server.js', { ...env, PGLITE_DATA_DIR: dataDir, LOG_LEVEL: 'warn', NODE_ENV: 'development' }] as const;
const floor = ['bench/baseline-server.ts', { ...env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', JWT_SECRET: 'x' }] as const;

async function startToReady([script, environment]: readonly [string, NodeJS.ProcessEnv]): Promise<number> {
  const server = await startNode(script, environment);
  let ready: number;
  let code: number | null;
  try {
    ready = await server.ready('/readyz', 50);
  } finally {
    code = await server.stop();
  }
  if (code !== 0) throw new Error(`${script} exited with ${code} on SIGTERM:\n${server.output()}`);
  return ready;
}

execFileSync('npm', ['run', '-s', 'build'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
const times = { first: [] as number[], second: [] as number[], floor: [] as number[] };
for (let i = 0; i < REPEAT; i++) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-pglite-'));
  try {
    times.floor.push(await startToReady(floor));
    times.first.push(await startToReady(service(dir)));
    times.second.push(await startToReady(service(dir)));
    const [first, second, bare] = [times.first, times.second, times.floor].map((xs) => seconds(xs.at(-1)!));
    console.log(`[pglite] ${i + 1}/${REPEAT}: first start ${first}, second ${second}; bare server ${bare}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const row = (what: string, xs: number[]) =>
  `| ${what} | ${seconds(median(xs))} | ${seconds(Math.min(...xs))} – ${seconds(Math.max(...xs))} | ${xs.map(seconds).join(', ')} | ${(median(xs) / median(times.floor)).toFixed(1)} |`;

writeSection(
  new URL('./RESULTS.md', import.meta.url),
  'pglite',
  [
    '## Starting on the embedded PGlite',
    '',
    `\`${COMMAND}\`, ${new Date().toISOString().slice(0, 10)}:`,
    '',
    ...(await machine(['@electric-sql/pglite', 'drizzle-orm', 'tsx'], { postgres: false })),
    '',
    "`npm start`'s command, `node dist/server.js`, with no `DATABASE_URL` and `PGLITE_DATA_DIR` a new",
    'temporary directory; from the spawn until `GET /readyz` answers 200 (polled every 50 ms). The first start',
    'creates the database, applies the migrations and creates the first admin (an argon2id hash); the second,',
    `after the first has stopped on SIGTERM, opens the same directory. ${REPEAT} directories, each started twice.`,
    'In the same turns, the floor of any server started that way: bench/baseline-server.ts (Node, tsx, node:http,',
    'postgres.js, which connects on its first query), from spawn to its first 200.',
    '',
    '| start | median | range | each | median / floor |',
    '| --- | ---: | ---: | --- | ---: |',
    row('first (new database)', times.first),
    row('second (existing database)', times.second),
    row('floor: a bare server, same command', times.floor),
  ].join('\n'),
);
console.log('[pglite] wrote bench/RESULTS.md (pglite section)');
