/**
 * The race GET /orders?q= runs between its ways (src/orders/search-race.ts), with ways that take a
 * set time on a clock of the test's own (each try moves it on by the way's cost), so that the order
 * of tries does not hang on the machine's load: each way's bound grows by GROWTH from FIRST_BOUND,
 * the way that has taken less time goes next, and the first thing found is the answer.
 */
import t from 'tap';
import { FIRST_BOUND, GROWTH, race, type Way } from '../../src/orders/search-race.js';

/** The race's clock, in milliseconds: only the ways move it. */
let clock = 0;
const now = () => clock;

/** A way taking `ms` a try, finding from bound `findsAt` on; its tries are logged as `name:bound`. */
function way(tries: string[], name: string, ms: number, findsAt: number): Way<string> {
  return async (bound) => {
    tries.push(`${name}:${bound}`);
    await Promise.resolve();
    clock += ms;
    return bound >= findsAt ? `${name} found it` : undefined;
  };
}

t.test('the quick way is tried again until it has taken as long as the slow one; its bounds grow by GROWTH', async (t) => {
  const tries: string[] = [];
  const found = await race([way(tries, 'quick', 1, FIRST_BOUND * GROWTH ** 3), way(tries, 'slow', 200, Infinity)], now);
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
  const found = await race([way(tries, 'walk', 1, Infinity), way(tries, 'look-up', 1, FIRST_BOUND)], now);
  t.equal(found, 'look-up found it');
  t.same(tries, [`walk:${FIRST_BOUND}`, `look-up:${FIRST_BOUND}`]);
});

t.test('a way that finds nothing at any bound does not stop the other from finding', async (t) => {
  const tries: string[] = [];
  const found = await race([way(tries, 'never', 1, Infinity), way(tries, 'late', 1, FIRST_BOUND * GROWTH ** 4)], now);
  t.equal(found, 'late found it');
  t.same(
    tries,
    [0, 1, 2, 3, 4].flatMap((i) => [`never:${FIRST_BOUND * GROWTH ** i}`, `late:${FIRST_BOUND * GROWTH ** i}`]),
    'at equal costs the two take turns; the late way finds at its fifth bound',
  );
});
