/**
 * The race GET /orders?q= runs between its ways (src/orders/search-race.ts), with ways that take a
 * set time on a clock of the test's own (each try moves it on by the way's cost), so that the order
 * of tries does not hang on the machine's load: each way's bound grows by GROWTH from its first, the
 * way that has taken less time goes next, each try is given the time until its way has taken twice
 * the other's (at least LEAST_TIME), and the first thing found is the answer.
 */
import t from 'tap';
import { FIRST_LOOK_UP, FIRST_WALK, GROWTH, LEAST_TIME, race, type Way } from '../../src/orders/search-race.js';

/** The race's clock, in milliseconds: only the ways move it. */
let clock = 0;
const now = () => clock;

/** A way taking `ms` a try (or the time it is given, if less), finding from bound `findsAt` on; its tries are logged as `name:bound:time`. */
function way(tries: string[], name: string, ms: number, findsAt: number): Way<string> {
  return async (bound, time) => {
    tries.push(`${name}:${bound}:${time}`);
    await Promise.resolve();
    clock += Math.min(ms, time);
    return bound >= findsAt && ms <= time ? `${name} found it` : undefined;
  };
}

t.test('the quick way is tried again until it has taken as long as the slow one; its bounds grow by GROWTH', async (t) => {
  const tries: string[] = [];
  const found = await race(
    [
      [way(tries, 'quick', 10, FIRST_WALK * GROWTH ** 3), FIRST_WALK],
      [way(tries, 'slow', 200, Infinity), FIRST_LOOK_UP],
    ],
    now,
  );
  t.equal(found, 'quick found it');
  t.same(tries, [
    `quick:${FIRST_WALK}:${LEAST_TIME}`,
    `slow:${FIRST_LOOK_UP}:${LEAST_TIME}`, // given the least time (twice the quick way's 10 ms is less): cut short
    `quick:${FIRST_WALK * GROWTH}:${2 * LEAST_TIME - 10}`,
    `quick:${FIRST_WALK * GROWTH ** 2}:${2 * LEAST_TIME - 20}`,
    `quick:${FIRST_WALK * GROWTH ** 3}:${LEAST_TIME}`,
  ]);
});

t.test('a slow way is given twice the time the other has taken, less its own', async (t) => {
  const tries: string[] = [];
  // the walk takes 20 ms a try and never finds; the look-up needs 100 ms at any bound
  const found = await race(
    [
      [way(tries, 'walk', 20, Infinity), FIRST_WALK],
      [way(tries, 'look-up', 100, 0), FIRST_LOOK_UP],
    ],
    now,
  );
  t.equal(found, 'look-up found it');
  t.same(
    tries.filter((entry) => entry.startsWith('look-up')),
    [
      `look-up:${FIRST_LOOK_UP}:40`, // the walk had taken 20 ms: cut at 40
      `look-up:${FIRST_LOOK_UP * GROWTH}:80`, // 60 against its 40: cut at 80
      `look-up:${FIRST_LOOK_UP * GROWTH ** 2}:160`, // 140 against its 120: found
    ],
  );
  t.equal(tries.length, 10, 'the walk tried until it had taken as long as the look-up, each time');
});

t.test('a way that finds nothing at any bound does not stop the other from finding', async (t) => {
  const tries: string[] = [];
  const found = await race(
    [
      [way(tries, 'never', 1, Infinity), FIRST_WALK],
      [way(tries, 'late', 1, FIRST_LOOK_UP * GROWTH ** 4), FIRST_LOOK_UP],
    ],
    now,
  );
  t.equal(found, 'late found it');
  t.same(
    tries.map((entry) => entry.split(':').slice(0, 2).join(':')),
    [0, 1, 2, 3, 4].flatMap((i) => [`never:${FIRST_WALK * GROWTH ** i}`, `late:${FIRST_LOOK_UP * GROWTH ** i}`]),
    'at equal costs the two take turns; the late way finds at its fifth bound',
  );
});
