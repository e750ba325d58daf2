/**
 * Loaded into every test process (tap's node-arg). `npm test` runs the bundles test/helpers/build-tests.mjs
 * writes, which need no loader: tsx's hooks cost about 1.6 s of CPU per test process even when
 * every file they see is JavaScript. A test file given as TypeScript (`npx tap test/api/auth.test.ts`,
 * tap's `before`) runs from its source through tsx, drizzle-orm's files resolved directly.
 */
if (process.argv[1]?.endsWith('.ts')) {
  await import('tsx');
  await import('./drizzle-resolve.mjs');
}
