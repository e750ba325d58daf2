/**
 * A 503 means nothing changed: a connection lost while a write's transaction is still at work is
 * 503 (the server rolled it back), one lost while its COMMIT is on the way is 504 OUTCOME_UNKNOWN
 * (it may have committed), never a 503 a client would retry. The connection is ended by the
 * database itself, from a trigger: before the commit, and at the commit (a deferred trigger).
 */
import t from 'tap';
import { testApp } from '../helpers/app.js';

const { app, sql, headersFor } = await testApp(t);
await sql.unsafe(`
  create function end_my_session() returns trigger language plpgsql as $$
  begin perform pg_terminate_backend(pg_backend_pid()); return null; end $$;
  create trigger lose_during_work before update on orders for each row when (new.ttn = 'LOSE-DURING-WORK') execute function end_my_session();
  create constraint trigger lose_at_commit after update on orders deferrable initially deferred
    for each row when (new.ttn = 'LOSE-AT-COMMIT') execute function end_my_session();`);
const patch = (ttn: string) =>
  app.inject({ method: 'PATCH', url: '/api/v1/orders/100010', headers: headersFor('admin'), payload: { ttn } });
const ttn = async () => (await sql`select ttn from orders where id = '100010'`)[0]!.ttn;

t.test('lost while the transaction works: 503, and nothing changed', async (t) => {
  const before = await ttn();
  const response = await patch('LOSE-DURING-WORK');
  t.equal(response.statusCode, 503, response.body);
  t.equal(response.json().code, 'DATABASE_UNAVAILABLE');
  t.equal(await ttn(), before);
});

t.test('lost during COMMIT: 504 OUTCOME_UNKNOWN, not a 503 to retry', async (t) => {
  const response = await patch('LOSE-AT-COMMIT');
  t.equal(response.statusCode, 504, response.body);
  t.match(response.json(), { code: 'OUTCOME_UNKNOWN', message: /may or may not have been made/ });
  t.notOk(response.headers['retry-after'], 'no Retry-After');
});

t.test('the pool goes on: the next write works', async (t) => {
  const response = await patch('20450000000077');
  t.equal(response.statusCode, 200);
  t.equal(await ttn(), '20450000000077');
});
