/**
 * The verifier: a checksum of every row, computed on both sides from each side's own values (MySQL's
 * as mysql2 read them, PostgreSQL's read back as text), in the canonical form of src/migrate/import/types.ts.
 * A table's checksum is the sum of its rows' MD5s (mod 2^128): independent of row order (MySQL's
 * collations sort keys unlike PostgreSQL's), and a missing, extra or changed row changes it.
 */
import { hash } from 'node:crypto';
import type { PlannedColumn, TablePlan } from './plan.js';
import { quotePg, type TargetSession } from './target.js';
import { sourceCanonical, targetCanonical, type SourceValue } from './types.js';

const MASK = (1n << 128n) - 1n;

export class TableChecksum {
  rows = 0;
  private sum = 0n;

  add(canonical: (string | null)[]) {
    let text = '';
    for (const field of canonical) text += field === null ? '\u0000N;' : `${field.length}:${field};`;
    this.sum = (this.sum + BigInt(`0x${hash('md5', text)}`)) & MASK;
    this.rows++;
  }

  equals(other: TableChecksum) {
    return this.rows === other.rows && this.sum === other.sum;
  }
}

export const addSourceRow = (checksum: TableChecksum, columns: PlannedColumn[], row: SourceValue[]) =>
  checksum.add(columns.map((c, i) => sourceCanonical(c.kind, row[i] ?? null)));

const FETCH_ROWS = 5000;

/** Every row of the table as PostgreSQL now holds it, read through a cursor in the import's transaction. */
export async function targetChecksum(session: TargetSession, plan: TablePlan, expectedRows: number): Promise<TableChecksum> {
  const checksum = new TableChecksum();
  const columns = plan.columns.map((c) => `${quotePg(c.name)}::text`).join(', ');
  const add = (row: (string | null)[]) => checksum.add(plan.columns.map((c, i) => targetCanonical(c.kind, row[i] ?? null)));
  if (expectedRows < FETCH_ROWS) {
    // a small table in one read (no cursor: a round trip each for DECLARE and CLOSE); more rows than
    // expected are counted all the same
    for (const row of await session.rows(`select ${columns} from ${quotePg(plan.target)}`)) add(row);
    return checksum;
  }
  await session.exec(`declare import_verify no scroll cursor for select ${columns} from ${quotePg(plan.target)}`);
  for (;;) {
    const rows = await session.rows(`fetch ${FETCH_ROWS} from import_verify`);
    for (const row of rows) add(row);
    if (rows.length < FETCH_ROWS) break;
  }
  await session.exec('close import_verify');
  return checksum;
}
