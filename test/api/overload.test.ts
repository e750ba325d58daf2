/**
 * Load shedding: while the event loop lags past maxEventLoopDelay (the mean over a second), the API
 * answers 503 OVERLOADED with Retry-After and serves again once it keeps up; the probes are never
 * shed. The test apps turn it off (TEST_CONFIG): their loop also runs the test.
 */
import t from 'tap';
import { testApp } from '../helpers/app.js';

/** Keeps the loop busy in slices of `sliceMs` for `forMs`: each slice is one late tick of the delay histogram. */
async function lag(forMs: number, sliceMs: number) {
  for (const end = Date.now() + forMs; Date.now() < end;) {
    for (const sliceEnd = Date.now() + sliceMs; Date.now() < sliceEnd;);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

t.test('a lagging event loop gets 503 OVERLOADED with Retry-After, the probes still answer; then the API serves again', async (t) => {
  const { app, headersFor } = await testApp(t, { maxEventLoopDelay: 250 });
  const list = () => app.inject({ url: '/api/v1/orders?limit=1', headers: headersFor('admin') });
  /** The status of the list once it is 200, or the last one after 30 s (on a saturated machine the loop lags by itself). */
  const servedWithin30s = async () => {
    let status = 0;
    for (const end = Date.now() + 30_000; status !== 200 && Date.now() < end;) {
      status = (await list()).statusCode;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return status;
  };
  t.equal(await servedWithin30s(), 200, 'served while the loop keeps up');

  await lag(3000, 600);
  const shed = await list();
  t.equal(shed.statusCode, 503);
  t.equal(shed.json().code, 'OVERLOADED');
  t.equal(shed.headers['retry-after'], '5');
  t.equal((await app.inject({ url: '/livez' })).statusCode, 200, '/livez is never shed');

  t.equal(await servedWithin30s(), 200, 'served again once the loop keeps up');
});
