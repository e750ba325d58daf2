/**
 * The race GET /orders?q= runs between its ways of finding a page (src/orders/search.ts says why):
 * each way is tried with a bound, GROWTH times its last on its next try, and the way that has taken
 * less time so far goes next, until one finds what is asked. bench/baseline-server.ts runs the same.
 */

/** A walk's first bound: the orders it tests. */
export const FIRST_WALK = 1000;
/**
 * A look-up's first bound: the matches it sorts. Its time goes on the trigram index's candidates,
 * most of it whatever the bound: at a million orders a 4-digit phone ending (1,400-2,700 matches)
 * failed at 1,000 in 7-16 ms, then took 7-12 to succeed at 4,000 after the walks' turns.
 */
export const FIRST_LOOK_UP = 4000;
/** Each further try's bound, against the one before. */
export const GROWTH = 4;

/** A way: what it found within `bound`, or undefined when it cannot tell within it. */
export type Way<T> = (bound: number) => Promise<T | undefined>;

/** `ways`: each with its first bound. `now`: the clock the time each way has taken is read on, in milliseconds. */
export async function race<T>(ways: [Way<T>, number][], now: () => number = () => performance.now()): Promise<T> {
  const runs = ways.map(([tryWith, bound]) => ({ tryWith, bound, spent: 0 }));
  for (;;) {
    const run = runs.reduce((least, next) => (next.spent < least.spent ? next : least));
    const started = now();
    const found = await run.tryWith(run.bound);
    run.spent += now() - started;
    run.bound *= GROWTH;
    if (found !== undefined) return found;
  }
}
