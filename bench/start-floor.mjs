/**
 * The floor of a start (bench/start.ts): plain JavaScript, node:http, and the database driver the
 * service uses: postgres.js on DATABASE_URL, or PGlite on PGLITE_DATA_DIR. /readyz answers 200 once
 * the database answered a query; nothing else.
 */
import { createServer } from 'node:http';

const query = process.env.DATABASE_URL
  ? await (async () => {
      const { default: postgres } = await import('postgres');
      const sql = postgres(process.env.DATABASE_URL, { max: 10 });
      return { run: () => sql`select 1`, close: () => sql.end({ timeout: 5 }) };
    })()
  : await (async () => {
      const { PGlite } = await import('@electric-sql/pglite');
      const pg = await PGlite.create(process.env.PGLITE_DATA_DIR);
      return { run: () => pg.query('select 1'), close: () => pg.close() };
    })();

const server = createServer((_request, response) => {
  query.run().then(
    () => response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}'),
    () => response.writeHead(503).end(),
  );
});
server.listen(Number(process.env.PORT ?? 3002), process.env.HOST ?? '127.0.0.1');
process.on('SIGTERM', () => server.close(() => void query.close()));
