/**
 * Which MySQL table goes where: the chain's legacy tables (drizzle/0000, whose snapshot lists their
 * columns) under their PostgreSQL names, every other table as it is; and what cannot be carried
 * (a type without a mapping, a column the legacy table does not have), named before anything is written.
 */
import { readFileSync } from 'node:fs';
import { MIGRATIONS_FOLDER } from '../../db/migrations-folder.js';
import type { MysqlTable } from './source.js';
import { mapColumn, type Kind, type MysqlColumn } from './types.js';

/** The two models whose MySQL tables Prisma named with @@map; every other legacy table has the same name on both. */
const RENAMED: Record<string, string> = { settings_boxes: 'BoxSettings', settings_wp_sku: 'WordPressSkuCache' };
/** Referenced tables before those that reference them (drizzle/0000 creates the foreign keys). */
const LOAD_ORDER = [
  'User',
  'Order',
  'Product',
  'BoxSettings',
  'WordPressSkuCache',
  'DilovodData',
  'SalesDriveData',
  'OrderHistory',
  'refresh_tokens',
];

interface LegacyColumn {
  name: string;
  type: string;
  notNull: boolean;
  default?: unknown;
}

/** drizzle/0000's tables and columns, from its snapshot. */
export function legacyTables(): Map<string, LegacyColumn[]> {
  const snapshot = JSON.parse(readFileSync(`${MIGRATIONS_FOLDER}/meta/0000_snapshot.json`, 'utf8')) as {
    tables: Record<string, { name: string; columns: Record<string, LegacyColumn> }>;
  };
  return new Map(Object.values(snapshot.tables).map((t) => [t.name, Object.values(t.columns)]));
}

/** drizzle/0000's SQL: run on the empty target, it creates the legacy tables. */
export function legacySchemaSql(): string {
  const journal = JSON.parse(readFileSync(`${MIGRATIONS_FOLDER}/meta/_journal.json`, 'utf8')) as { entries: { tag: string }[] };
  return readFileSync(`${MIGRATIONS_FOLDER}/${journal.entries[0]!.tag}.sql`, 'utf8');
}

export interface PlannedColumn {
  name: string;
  kind: Kind;
  pgType: string;
  mysql: MysqlColumn;
}

export interface TablePlan {
  source: MysqlTable;
  /** The PostgreSQL table. */
  target: string;
  /** One of the chain's legacy tables (created by drizzle/0000), or carried as it is. */
  legacy: boolean;
  columns: PlannedColumn[];
}

/** Something in the source's structure that cannot be carried as it is. */
export interface StructuralProblem {
  table: string;
  problem: string;
}

export function planImport(tables: MysqlTable[], otherObjects: { name: string; type: string }[]) {
  const legacy = legacyTables();
  const problems: StructuralProblem[] = otherObjects.map((o) => ({
    table: o.name,
    problem: `a ${o.type.toLowerCase()}, not a table: not carried (create it again on PostgreSQL if it is still needed)`,
  }));
  const plans: TablePlan[] = [];
  for (const table of tables) {
    const target = RENAMED[table.name] ?? table.name;
    const legacyColumns = legacy.get(target);
    const columns: PlannedColumn[] = [];
    for (const column of table.columns) {
      const mapping = mapColumn(column);
      if (!mapping) {
        problems.push({ table: table.name, problem: `column ${column.name} is ${column.columnType}, a type this import does not carry` });
        continue;
      }
      const legacyColumn = legacyColumns?.find((c) => c.name === column.name);
      if (legacyColumns && !legacyColumn) {
        problems.push({
          table: table.name,
          problem: `column ${column.name} (${column.columnType}) is not in the legacy schema the migration chain starts from`,
        });
        continue;
      }
      // a legacy jsonb column is JSON whatever MySQL calls it (MariaDB: LONGTEXT)
      const kind = legacyColumn?.type === 'jsonb' ? 'json' : mapping.kind;
      columns.push({ name: column.name, kind, pgType: mapping.pgType, mysql: column });
    }
    for (const missing of legacyColumns?.filter((c) => c.notNull && c.default === undefined && !/serial/.test(c.type)) ?? []) {
      if (!table.columns.some((c) => c.name === missing.name))
        problems.push({ table: table.name, problem: `has no column ${missing.name}, which the legacy schema requires` });
    }
    plans.push({ source: table, target, legacy: legacyColumns !== undefined, columns });
  }
  const rank = (plan: TablePlan) => (plan.legacy ? LOAD_ORDER.indexOf(plan.target) : LOAD_ORDER.length);
  plans.sort((a, b) => rank(a) - rank(b) || (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
  return { plans, problems };
}
