import { defineConfig } from 'drizzle-kit';

// The same chain, ledger and target as `npm run db:migrate`: PostgreSQL when DATABASE_URL is set,
// otherwise the embedded PGlite database in ./data (or PGLITE_DATA_DIR).
const url = process.env.DATABASE_URL;

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './drizzle',
  casing: 'snake_case',
  // Prisma's ledger is kept as it was: see README, "What becomes of _prisma_migrations".
  tablesFilter: ['!_prisma_migrations'],
  migrations: { schema: 'drizzle', table: '__drizzle_migrations' },
  strict: true,
  ...(url ? { dbCredentials: { url } } : { driver: 'pglite' as const, dbCredentials: { url: process.env.PGLITE_DATA_DIR ?? './data' } }),
});
