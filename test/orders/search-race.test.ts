/**
 * The race GET /orders?q= runs between its ways (src/orders/search-race.ts), with ways that take a
 * set time: each way's bound grows by GROWTH from FIRST_BOUND, the way that has taken less time goes
 * next, and the first thing found is the answer. The costs are far apart (1 ms against 200 ms), so
 * that a loaded machine does not change the order.
 */
import t from 'tap';
import { FIRST_BOUND, GROWTH, race, type Way } from '../../src/orders/search-race.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A way taking `ms` a try, finding `found` from bound `findsAt` on; its tries are logged as `name:bound`. */
function way(tries: string[], name: string, ms: number, findsAt: number): Way<string> {
  return async (bound) => {
    tries.push(`${name}:${bound}`);
    await sleep(ms);
    return bound >= findsAt ? `${name} found it` : undefined;
  };
}

t.test('the quick way is tried again until it has taken as long as the slow one; its bounds grow by GROWTH', async (t) => {
  const tries: string[] = [];
  const found = await race([way(tries, 'quick', 1, FIRST_BOUND * GROWTH ** 3), way(tries, 'slow', 200, Infinity)]);
  t.equal(found, 'quick found it');
  t.same(tries, [
    `quick:${FIRST_BOUND}`,
    `slow:${FIRST_BOUND}`,
    `quick:${FIRST_BOUND * GROWTH}`,
    `quick:${FIRST_BOUND * GROWTH ** 2}`,
    `quick:${FIRST_BOUND * GROWTH ** 3}`,
  ]);
});

t.test('the first way goes first, and the other one as soon as the first has taken any time', async (t) => {
  const tries: string[] = [];
  const found = await race([way(tries, 'walk', 1, Infinity), way(tries, 'look-up', 1, FIRST_BOUND)]);
  t.equal(found, 'look-up found it');
  t.same(tries, [`walk:${FIRST_BOUND}`, `look-up:${FIRST_BOUND}`]);
});

t.test('a way that finds nothing at any bound does not stop the other from finding', async (t) => {
  const tries: string[] = [];
  const found = await race([way(tries, 'never', 1, Infinity), way(tries, 'late', 1, FIRST_BOUND * GROWTH ** 4)]);
  t.equal(found, 'late found it');
  t.equal(tries.filter((name) => name.startsWith('late:')).length, 5, 'the late way tried at 5 bounds');
});
