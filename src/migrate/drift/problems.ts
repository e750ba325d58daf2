/** What a run cannot carry over, found before its first statement: the run stops there, naming each object with what to do. */
import { chainTables, dependents, ident, oidList, operatorFunctions, unmanagedTriggers, unquote, type Query } from './catalog.js';
import { downChanges, upChanges, type NameChange } from './plan.js';

export type Direction = 'up' | 'down';

/** One object the run cannot carry over; the run stopped, nothing changed. */
export interface DriftProblem {
  kind: string;
  name: string;
  why: string;
  todo: string;
}

/** The run stopped before committing anything: every object it cannot carry, each with what to do. */
export class DriftStop extends Error {
  constructor(
    readonly direction: Direction,
    readonly problems: DriftProblem[],
  ) {
    super(
      `${problems.length} object(s) that the migration chain does not manage cannot be carried ${direction === 'up' ? 'over' : 'back'} as they are:\n` +
        problems.map((p) => `  ${p.kind} ${p.name}: ${p.why}.\n    ${p.todo}`).join('\n'),
    );
    this.name = 'DriftStop';
  }
}

/** Comments and the languages whose bodies are SQL text: what a body names, its comments left out. */
const withoutComments = (source: string) => source.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/--[^\n]*/g, ' ');

/** The names of `changes` that `source` uses: quoted exactly, or bare (a lower-case name, any case). */
function namesUsed(source: string, changes: NameChange[]): NameChange[] {
  const text = withoutComments(source);
  const seen = new Map<string, NameChange>();
  for (const change of changes) {
    if (seen.has(change.name)) continue;
    const quoted = text.includes(`"${change.name.replaceAll('"', '""')}"`);
    const bare = /^[a-z_][a-z0-9_]*$/.test(change.name) && new RegExp(`(?<![\\w$"])${change.name}(?![\\w$"])`, 'i').test(text);
    if (quoted || bare) seen.set(change.name, change);
  }
  return [...seen.values()];
}

const describeChange = (c: NameChange) =>
  `${/^[a-z_][a-z0-9_]*$/.test(c.name) ? c.name : `"${c.name}"`} → ${c.becomes === null ? `dropped${c.note ? ` (${c.note})` : ''}` : ident(c.becomes)}`;

/**
 * What the pending steps cannot carry: read before any of them runs. Empty: the run may go on.
 */
export async function findProblems(q: Query, direction: Direction, tags: string[]): Promise<DriftProblem[]> {
  const steps = tags.map((tag) => ({ tag, ...(direction === 'up' ? upChanges(tag) : downChanges(tag)) }));
  const tableChanges = steps.flatMap((s) => s.tables.map((c) => ({ ...c, tag: s.tag })));
  const columnChanges = steps.flatMap((s) => s.columns.map((c) => ({ ...c, tag: s.tag })));
  const all = [...tableChanges, ...columnChanges];
  if (!all.length) return [];
  const tables = await chainTables(q);
  const problems: DriftProblem[] = [];
  const droppedTables = new Map(tableChanges.filter((c) => c.becomes === null).map((c) => [c.name, c]));
  const droppedColumns = new Map(columnChanges.filter((c) => c.becomes === null).map((c) => [`${c.table}.${c.name}`, c]));
  const again = direction === 'up' ? 'migrating' : 'rolling back';
  const after = direction === 'up' ? 'once migrated' : 'once rolled back';
  const schema = direction === 'up' ? 'the new schema' : 'the legacy schema';

  const triggers = await unmanagedTriggers(q, tables);
  const functions = await operatorFunctions(q);
  const named = new Map(functions.map((f) => [f.oid, namesUsed(f.source, all)]));
  const triggerFunctions = new Set<string>();
  for (const t of triggers) {
    const dropped = droppedTables.get(unquote(t.table));
    const inBody = named.get(t.function_oid) ?? [];
    const inArgs = t.args.flatMap((arg) => all.filter((c) => c.name === arg));
    const drop = `DROP TRIGGER ${ident(t.name)} ON ${t.table};`;
    if (dropped) {
      problems.push({
        kind: 'trigger',
        name: `${ident(t.name)} on ${t.table} (function ${t.function})`,
        why: `${dropped.tag} drops ${t.table} (${dropped.note ?? 'not in ' + schema}), and the trigger with it`,
        todo: `Drop it before ${again} (${drop}); what it did has no table to act on in ${schema}.`,
      });
      continue;
    }
    if (!inBody.length && !inArgs.length) continue;
    triggerFunctions.add(t.function_oid);
    const parts = [
      ...(inBody.length ? [`its function ${t.function} names ${inBody.map(describeChange).join(', ')}`] : []),
      ...(inArgs.length ? [`its arguments name ${inArgs.map(describeChange).join(', ')}`] : []),
    ];
    problems.push({
      kind: 'trigger',
      name: `${ident(t.name)} on ${t.table} (function ${t.function})`,
      why: `${parts.join('; ')}: it would fail at its first use`,
      todo: `Drop it before ${again} (${drop}), then create the function again with the names changed as above, and the trigger, ${after}.`,
    });
  }
  for (const f of functions) {
    const names = named.get(f.oid) ?? [];
    if (!names.length || triggerFunctions.has(f.oid)) continue;
    problems.push({
      kind: f.kind,
      name: f.name,
      why: `its body names ${names.map(describeChange).join(', ')}: it would fail at its first use`,
      todo: `Drop it before ${again} (DROP ${f.kind.toUpperCase()} ${f.name};) and create it again with the names changed as above ${after}, or change them in it then.`,
    });
  }

  // anything reading a table or column the pending steps drop (PostgreSQL would refuse the drop,
  // or, for a trigger, drop it silently with its table)
  const cannot = new Set<string>();
  for (const d of await dependents(q, tables)) {
    const lost = d.reads.flatMap((r) => {
      const table = unquote(r.table);
      const gone = droppedTables.get(table);
      if (gone) return [{ label: r.table, change: gone }];
      const column = r.column ? droppedColumns.get(`${table}.${r.column}`) : undefined;
      return column ? [{ label: `${r.table}.${ident(r.column!)}`, change: column }] : [];
    });
    const throughView = d.via && cannot.has(d.via);
    if (!lost.length && !throughView) continue;
    cannot.add(d.name);
    const what = lost.length ? [...new Set(lost.map((l) => l.label))].join(', ') : `view ${d.via}`;
    const dropWord =
      d.kind === 'policy' ? `DROP POLICY ${d.name}` : d.kind === 'rule' ? `DROP RULE ${d.name}` : `DROP ${d.kind.toUpperCase()} ${d.name}`;
    problems.push({
      kind: d.kind,
      name: d.name,
      why: lost.length
        ? `it reads ${what}, which ${lost[0]!.change.tag} drops${lost[0]!.change.note ? ` (${lost[0]!.change.note})` : ''}`
        : `it reads ${what}, which cannot be carried`,
      todo: `Drop it before ${again} (${dropWord};) and create what it gives from ${schema} ${after}.`,
    });
  }
  const keys = await q<{ name: string; table: string; references: string }>(`
    select c.conname as name, c.conrelid::regclass::text as "table", c.confrelid::regclass::text as "references"
      from pg_constraint c where c.contype = 'f' and c.confrelid = any(${oidList(tables)}) and not c.conrelid = any(${oidList(tables)})
     order by 2, 1`);
  for (const k of keys) {
    const dropped = droppedTables.get(unquote(k.references));
    if (!dropped) continue;
    problems.push({
      kind: 'foreign key',
      name: `${ident(k.name)} on ${k.table}`,
      why: `it references ${k.references}, which ${dropped.tag} drops${dropped.note ? ` (${dropped.note})` : ''}`,
      todo: `Drop it before ${again} (ALTER TABLE ${k.table} DROP CONSTRAINT ${ident(k.name)};).`,
    });
  }
  return problems;
}
