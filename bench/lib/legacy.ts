/** Legacy databases at scale, built from bench/legacy-scale and kept between runs. */
import { fileURLToPath } from 'node:url';
import { createDatabase, databaseExists, dropDatabase, psqlFile, renameDatabase, withDatabase } from './pg.js';

const SCALE_DIR = fileURLToPath(new URL('../legacy-scale/', import.meta.url));
/** The generator's other variables, as bench/legacy-scale documents them. */
const SHAPE = { n_users: 40, n_products: 250, max_hist: 4 };

export const legacyName = (orders: number) => `bo_bench_legacy_${orders}`;

async function orderCount(database: string): Promise<number | null> {
  if (!(await databaseExists(database))) return null;
  return withDatabase(database, async (sql) => {
    const [row] = await sql`select count(*)::int as n from "Order"`.catch(() => [undefined]);
    return row?.n ?? null;
  });
}

async function build(orders: number, name: string) {
  // built under another name, so that an interrupted build is never taken for a finished one
  const building = `${name}_building`;
  await dropDatabase(building);
  await createDatabase(building);
  await psqlFile(building, `${SCALE_DIR}schema.sql`);
  await psqlFile(building, `${SCALE_DIR}data.sql`, { ...SHAPE, n_orders: orders });
  await dropDatabase(name);
  await renameDatabase(building, name);
}

/** The legacy database with `orders` orders, built unless a finished one exists; vacuumed and analysed. */
export async function ensureLegacy(orders: number, log: (line: string) => void): Promise<string> {
  const name = legacyName(orders);
  if ((await orderCount(name)) === orders) {
    log(`reusing ${name}`);
  } else {
    log(`building ${name} (psql, data.sql with n_orders=${orders}) …`);
    const started = performance.now();
    await build(orders, name);
    log(`built ${name} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  await withDatabase(name, (sql) => sql.unsafe('vacuum analyze'));
  return name;
}
