#!/usr/bin/env node
// Runs `drizzle-kit generate` under tmux and answers its "created or renamed?" prompts from a
// rename plan, because drizzle-kit has no non-interactive way to say "rename" and its default
// answer, "create", drops the old table and its data. Usage: --help. Nothing is guessed: a prompt
// the plan does not answer stops the run.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const USAGE = `Usage: node scripts/generate-migration.mjs <name> [plan.json]

Runs drizzle-kit generate --name <name> under tmux and answers its "created or renamed?"
prompts from the plan; a prompt the plan does not answer stops the run. Read the SQL after.
<name>: letters, digits, _ and -. plan.json: the migration's plan, drizzle/plans/<tag>.json, e.g.
  { "tables": { "Old": "new" }, "columns": { "new_table": { "oldCol": "new_col" } },
    "create": { "new_table": "why", "new_table.new_col": "why" }, "drop": { "old_table": "why" } }
(create and drop: what a rollback drops and what the migration drops, with why; see the README).`;

/** One line and exit: no stack for a mistake on the command line. */
function fail(message, code = 1) {
  console.error(message);
  process.exit(code);
}

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
const [name, planPath, ...extra] = args;
if (!name || extra.length || !/^[A-Za-z0-9_-]+$/.test(name) || name.startsWith('-')) fail(USAGE, 2);

function readPlan(path) {
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    fail(error.code === 'ENOENT' ? `No plan file ${path}` : `Cannot read the plan file ${path}: ${error.message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    fail(`The plan file ${path} is not valid JSON: ${error.message}`);
  }
}
const plan = planPath ? readPlan(planPath) : {};
try {
  execFileSync('tmux', ['-V'], { stdio: 'ignore' });
} catch {
  fail('This script needs tmux (drizzle-kit asks its questions on a terminal): install it, e.g. apt-get install tmux');
}
const tables = plan.tables ?? {};
const columns = plan.columns ?? {};
const creates = new Set(Array.isArray(plan.create) ? plan.create : Object.keys(plan.create ?? {}));

const session = `drizzle-generate-${process.pid}`;
const tmux = (...args) => execFileSync('tmux', args, { encoding: 'utf8' });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

tmux(
  'new-session',
  '-d',
  '-s',
  session,
  '-x',
  '250',
  '-y',
  '200',
  `npx drizzle-kit generate --name ${name} ${process.env.DRIZZLE_KIT_ARGS ?? ''}; echo "__EXIT__ $?"; sleep 3600`,
);

function wanted(question) {
  let m = question.match(/^Is (\S+) table created or renamed from another table\?/);
  if (m) {
    const table = m[1];
    if (creates.has(table)) return { create: true };
    const old = Object.keys(tables).find((o) => tables[o] === table);
    return old ? { rename: `${old} › ${table}` } : null;
  }
  m = question.match(/^Is (\S+) column in (\S+) table created or renamed from another column\?/);
  if (m) {
    const [, column, table] = m;
    if (creates.has(`${table}.${column}`)) return { create: true };
    const map = columns[table] ?? {};
    const old = Object.keys(map).find((o) => map[o] === column);
    return old ? { rename: `${old} › ${column}` } : null;
  }
  return null;
}

let answered = 0;
let lastQuestion = '';
try {
  for (let waited = 0; waited < 300_000; waited += 250) {
    await sleep(250);
    const lines = tmux('capture-pane', '-p', '-t', session, '-S', '-5000').split('\n');
    const exit = lines.find((l) => l.startsWith('__EXIT__'));
    if (exit) {
      console.log(
        lines
          .filter((l) => l.trim() && !l.startsWith('__EXIT__'))
          .slice(-25)
          .join('\n'),
      );
      console.log(`drizzle-kit generate exited ${exit.split(' ')[1]}; ${answered} prompts answered`);
      process.exitCode = Number(exit.split(' ')[1]);
      break;
    }
    const at = lines.findLastIndex((l) => /^Is .* created or renamed from another (table|column)\?/.test(l));
    if (at < 0 || lines[at] === lastQuestion) continue;
    const choices = [];
    for (let i = at + 1; i < lines.length && /^[❯ ] [+~]/.test(lines[i]); i++) choices.push(lines[i]);
    if (!choices.length || !choices[0].startsWith('❯')) continue; // not drawn yet
    const answer = wanted(lines[at]);
    const target = answer?.create
      ? choices.findIndex((c) => /create (table|column)\s*$/.test(c))
      : choices.findIndex((c) => answer && c.slice(4).startsWith(answer.rename + ' '));
    if (!answer || target < 0) {
      console.error(`Unplanned prompt, stopping without an answer:\n${lines[at]}\n${choices.join('\n')}`);
      process.exitCode = 1;
      break;
    }
    const keys = Array(target).fill('Down');
    tmux('send-keys', '-t', session, ...keys, 'Enter');
    console.log(`${lines[at]}  ->  ${choices[target].slice(2).trim()}`);
    lastQuestion = lines[at];
    answered++;
  }
} finally {
  tmux('kill-session', '-t', session);
}
