/**
 * Row by row, column by column: does a restructured database hold every row of a legacy one, each
 * value equal to its legacy value (timestamps read as UTC, money to the kopeck)? Used both ways:
 * legacy -> migrated, and rolled back -> the database it was rolled back from.
 */
import { renamedColumns, renamedTables } from '../../src/migrate/drift/plan.js';
import type postgres from 'postgres';

/** The renames of the whole chain, from its plans (drizzle/plans/): legacy table → current, and by current table, legacy column → current. */
export const PLAN = { tables: Object.fromEntries(renamedTables().map((t) => [t.legacy, t.current])), columns: renamedColumns() };

export interface Carried {
  table: string;
  legacyRows: number;
  rows: number;
  compared: number;
  mismatches: string[];
}

/** For each of the six tables: the legacy table's rows in `legacy` against the current table's in `current`. */
export async function compareCarried(legacy: postgres.Sql, current: postgres.Sql): Promise<Carried[]> {
  const results: Carried[] = [];
  for (const [legacyTable, table] of Object.entries(PLAN.tables)) {
    const renames = PLAN.columns[table] ?? {};
    const legacyColumns = await legacy<{ name: string; type: string }[]>`
      select column_name as name, data_type as type from information_schema.columns
       where table_schema = 'public' and table_name = ${legacyTable} order by ordinal_position`;
    const newColumns = new Set(
      (
        await current`select column_name as name from information_schema.columns
         where table_schema = 'public' and table_name = ${table}`
      ).map((c) => c.name as string),
    );
    const before = await legacy.unsafe(`select row_to_json(r) as row from "${legacyTable}" r order by id`);
    const after = await current.unsafe(`select row_to_json(r) as row from "${table}" r order by id`);
    let compared = 0;
    const mismatches: string[] = [];
    for (const { name, type } of legacyColumns) {
      const column = renames[name] ?? name;
      if (!newColumns.has(column)) {
        mismatches.push(`"${legacyTable}"."${name}" has no column ${table}.${column}`);
        continue;
      }
      before.forEach(({ row: old }, i) => {
        const value = old[name];
        const now = after[i]?.row[column];
        let expected: unknown = value;
        if (value !== null && type === 'timestamp without time zone') expected = `${value}+00:00`; // read as UTC
        if (value !== null && type === 'double precision') {
          // money: the same amount to the kopeck, exactly
          expected = Number((value as number).toFixed(2));
          if (Math.abs((value as number) - (expected as number)) > 1e-9)
            mismatches.push(`${table} ${old.id}: ${name} ${value} is not whole kopecks`);
        }
        compared++;
        if (JSON.stringify(now) !== JSON.stringify(expected)) {
          mismatches.push(`${table} id=${old.id} ${column}: ${JSON.stringify(now)} != ${JSON.stringify(expected)}`);
        }
      });
    }
    results.push({ table, legacyRows: before.length, rows: after.length, compared, mismatches: mismatches.slice(0, 20) });
  }
  return results;
}
