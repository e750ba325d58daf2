/**
 * The race GET /orders?q= runs between its ways of finding a page (src/orders/search.ts says why):
 * each way is tried with a bound, GROWTH times its last on its next try, and the way that has taken
 * less time so far goes next, until one finds what is asked. Each try is also given the time it may
 * take: until its way has taken twice as long as the other has so far, and at least LEAST_TIME. A way
 * whose cost its bound does not tell (a look-up, whose candidates the index cannot tell from its
 * matches) gives up past that time, so that it cannot hold the page back long after the other way
 * would have found it. bench/baseline-server.ts runs the same.
 */

/** A walk's first bound: the orders it tests. */
export const FIRST_WALK = 1000;
/**
 * A look-up's first bound: the matches it sorts. Reading the candidates costs it most of its time,
 * whatever the bound (four digits: 7-16 ms at a million orders for 1,000 matches, 7-12 for 4,000),
 * and its time is bounded besides, so it starts one step further than the walk.
 */
export const FIRST_LOOK_UP = 4000;
/** Each further try's bound, against the one before. */
export const GROWTH = 4;
/**
 * The least time a try may take, in milliseconds: at a million orders a look-up that finds its page
 * takes 10-20 ms, read from the disk's cache; one cut short at 15 ms left its page to walks of 64,000 orders.
 */
export const LEAST_TIME = 30;

/**
 * A way: what it found within `bound`, or undefined when it cannot tell within it; `time`: the
 * milliseconds the try may take (a way whose bound keeps its time may leave it unused).
 */
export type Way<T> = (bound: number, time: number) => Promise<T | undefined>;

/** `ways`: each with its first bound. `now`: the clock the time each way has taken is read on, in milliseconds. */
export async function race<T>(ways: [Way<T>, number][], now: () => number = () => performance.now()): Promise<T> {
  const runs = ways.map(([tryWith, bound]) => ({ tryWith, bound, spent: 0 }));
  for (;;) {
    const run = runs.reduce((least, next) => (next.spent < least.spent ? next : least));
    const others = Math.max(...runs.map((other) => (other === run ? 0 : other.spent)));
    const started = now();
    const found = await run.tryWith(run.bound, Math.max(LEAST_TIME, 2 * others - run.spent));
    run.spent += now() - started;
    run.bound *= GROWTH;
    if (found !== undefined) return found;
  }
}
