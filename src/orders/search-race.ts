/**
 * The race GET /orders?q= runs between its ways of finding a page (src/orders/search.ts says why):
 * each way is tried with a bound, GROWTH times its last on its next try, and the way that has taken
 * less time so far goes next, until one finds what is asked. bench/baseline-server.ts runs the same.
 */

/** Every way's first bound (orders a walk tests, matches a look-up sorts). */
export const FIRST_BOUND = 1000;
/** Each further try's bound, against the one before. */
export const GROWTH = 4;

/** A way: what it found within `bound`, or undefined when it cannot tell within it. */
export type Way<T> = (bound: number) => Promise<T | undefined>;

/** `now`: the clock the time each way has taken is read on, in milliseconds. */
export async function race<T>(ways: Way<T>[], now: () => number = () => performance.now()): Promise<T> {
  const runs = ways.map((tryWith) => ({ tryWith, bound: FIRST_BOUND, spent: 0 }));
  for (;;) {
    const run = runs.reduce((least, next) => (next.spent < least.spent ? next : least));
    const started = now();
    const found = await run.tryWith(run.bound);
    run.spent += now() - started;
    run.bound *= GROWTH;
    if (found !== undefined) return found;
  }
}
