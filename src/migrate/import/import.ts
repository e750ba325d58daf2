/**
 * `npm run db:import`: the legacy MySQL database, read in one consistent snapshot, copied into an
 * empty PostgreSQL (or PGlite) database in the legacy shape the chain starts from (drizzle/0000),
 * every row verified by checksum, all in one transaction. Nothing is written when a value cannot be
 * carried exactly: the problems are named with their fixes instead.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DatabaseTarget } from '../../db/client.js';
import { legacySchemaSql, planImport, type PlannedColumn, type TablePlan } from './plan.js';
import { findProblems } from './problems.js';
import { formatProblems, formatResults, Progress, type TableResult } from './report.js';
import { openSource, type Source } from './source.js';
import { quotePg, withTarget, type TargetSession } from './target.js';
import { copyField, type SourceValue } from './types.js';
import { addSourceRow, TableChecksum, targetChecksum } from './verify.js';

export interface ImportOptions {
  sourceUrl: string;
  target: DatabaseTarget;
  /** List what cannot be carried; copy nothing. */
  check?: boolean;
  /** Where the report and the progress lines go. */
  print: (line: string) => void;
  progressEveryMs?: number;
}

/** The import stopped; its message says why and what to do. */
export class ImportStopped extends Error {}

export async function runImport(options: ImportOptions): Promise<void> {
  const source = await openSource(options.sourceUrl);
  try {
    options.print(`Reading ${source.description} in one consistent snapshot taken at ${source.snapshotAt}.`);
    const { plans, problems: structural } = planImport(source.tables, source.otherObjects);
    const rowProblems = await findProblems(source, plans);
    if (structural.length || rowProblems.length) {
      throw new ImportStopped(
        `${formatProblems(structural, rowProblems)}\nNothing was ${options.check ? 'copied (--check)' : 'written: the target is as it was'}.`,
      );
    }
    const counts = new Map<string, number>();
    for (const plan of plans) counts.set(plan.source.name, await source.count(plan.source.name));
    if (options.check) {
      options.print(
        `Every value can be carried (${plans.length} tables, ${[...counts.values()].reduce((a, b) => a + b, 0)} rows). Nothing was copied (--check).`,
      );
      return;
    }
    const results = await copyAll(source, plans, counts, options);
    options.print(`${formatResults(results)}\nEvery row is verified. Next: npm run db:migrate`);
  } finally {
    await source.close();
  }
}

async function copyAll(source: Source, plans: TablePlan[], counts: Map<string, number>, options: ImportOptions): Promise<TableResult[]> {
  return withTarget(options.target, async (target) => {
    const present = await target.contents();
    if (present.length) {
      throw new ImportStopped(
        `The target database is not empty: it holds ${present.join(', ')}. The import writes only into an empty database; nothing was written.`,
      );
    }
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    const progress = new Progress(total, options.print, options.progressEveryMs);
    return target.transaction(async (session) => {
      await session.exec(legacySchemaSql());
      const restore = await setIndexesAside(session);
      for (const plan of plans.filter((p) => !p.legacy)) await session.exec(createTableSql(plan));
      const results: TableResult[] = [];
      for (const plan of plans) {
        const mysqlRows = counts.get(plan.source.name) ?? 0;
        const sourceSum = await copyTable(source, session, plan, (rows) => progress.add(plan.target, rows, mysqlRows));
        const targetSum = await targetChecksum(session, plan, mysqlRows);
        const verified = sourceSum.equals(targetSum) && sourceSum.rows === mysqlRows;
        results.push({
          source: plan.source.name,
          target: plan.target,
          mysqlRows,
          postgresRows: targetSum.rows,
          verifiedRows: verified ? targetSum.rows : 0,
        });
        if (!verified) {
          throw new ImportStopped(
            `${formatResults(results)}\n${plan.source.name}: the rows in PostgreSQL differ from those in MySQL. Nothing was written: the target is empty.`,
          );
        }
      }
      for (const statement of restore) await session.exec(statement);
      for (const plan of plans) await setSequences(session, plan);
      for (const plan of plans.filter((p) => !p.legacy)) for (const statement of indexSql(plan)) await session.exec(statement);
      return results;
    });
  });
}

/**
 * drizzle/0000's indexes (but the primary keys) and foreign keys, dropped before the rows go in and
 * made again, as they were, after: one index build and one check per key instead of one per row.
 * Returns the statements that make them again (indexes first).
 */
async function setIndexesAside(session: TargetSession): Promise<string[]> {
  const indexes = await session.rows(`
    select pg_get_indexdef(i.indexrelid), format('drop index %s', i.indexrelid::regclass)
      from pg_index i join pg_class c on c.oid = i.indexrelid
     where c.relnamespace = 'public'::regnamespace and not i.indisprimary order by c.relname`);
  const foreignKeys = await session.rows(`
    select format('alter table %s add constraint %I %s', conrelid::regclass, conname, pg_get_constraintdef(oid)),
           format('alter table %s drop constraint %I', conrelid::regclass, conname)
      from pg_constraint where connamespace = 'public'::regnamespace and contype = 'f' order by conname`);
  for (const [, drop] of [...foreignKeys, ...indexes]) await session.exec(drop!);
  return [...indexes, ...foreignKeys].map(([create]) => create!);
}

/** COPY text gathered into chunks of about this size before they are handed to the writer. */
const LINE_CHUNK = 64 * 1024;

async function copyTable(
  source: Source,
  session: TargetSession,
  plan: TablePlan,
  onRow: (rowsSoFar: number) => void,
): Promise<TableChecksum> {
  const checksum = new TableChecksum();
  const kinds = plan.columns.map((c) => c.kind);
  let chunk = '';
  const toCopyText = new Transform({
    writableObjectMode: true,
    transform(row: SourceValue[], _encoding, done: TransformCallback) {
      addSourceRow(checksum, plan.columns, row);
      chunk += `${kinds.map((kind, i) => copyField(kind, row[i] ?? null)).join('\t')}\n`;
      onRow(checksum.rows);
      if (chunk.length >= LINE_CHUNK) {
        const full = chunk;
        chunk = '';
        return done(null, full);
      }
      done();
    },
    flush(done: TransformCallback) {
      done(null, chunk || undefined);
    },
  });
  await pipeline(
    source.rows(plan.source),
    toCopyText,
    await session.copyIn(
      plan.target,
      plan.columns.map((c) => c.name),
    ),
  );
  return checksum;
}

/** An AUTO_INCREMENT column gets a sequence; BIGINT UNSIGNED (numeric(20): past PostgreSQL's bigint) keeps its values without one. */
const hasSequence = (column: PlannedColumn) => column.mysql.autoIncrement && ['smallint', 'integer', 'bigint'].includes(column.pgType);

function createTableSql(plan: TablePlan): string {
  const columns = plan.columns.map(
    (c) =>
      `${quotePg(c.name)} ${c.pgType}${hasSequence(c) ? ' generated by default as identity' : ''}${c.mysql.nullable ? '' : ' not null'}`,
  );
  const key = plan.source.primaryKey.length ? [`primary key (${plan.source.primaryKey.map(quotePg).join(', ')})`] : [];
  return `create table ${quotePg(plan.target)} (${[...columns, ...key].join(', ')})`;
}

/** A table the chain does not know keeps its indexes; MySQL names them per table, PostgreSQL per schema. */
function indexSql(plan: TablePlan): string[] {
  return plan.source.indexes.map((index) => {
    const name = index.name.startsWith(plan.target) ? index.name : `${plan.target}_${index.name}`;
    return `create ${index.unique ? 'unique ' : ''}index ${quotePg(name)} on ${quotePg(plan.target)} (${index.columns.map(quotePg).join(', ')})`;
  });
}

/** Each AUTO_INCREMENT column's sequence: past the largest id, and past MySQL's own counter (a deleted last id is not given again). */
async function setSequences(session: TargetSession, plan: TablePlan) {
  for (const column of plan.columns.filter(hasSequence)) {
    const [[max]] = (await session.rows(`select max(${quotePg(column.name)})::text from ${quotePg(plan.target)}`)) as [[string | null]];
    const last = Math.max(Number(max ?? 0), (plan.source.nextId ?? 1) - 1);
    const sequence = `pg_get_serial_sequence('${quotePg(plan.target).replace(/'/g, "''")}', '${column.name.replace(/'/g, "''")}')`;
    await session.exec(last >= 1 ? `select setval(${sequence}, ${last})` : `select setval(${sequence}, 1, false)`);
  }
}
