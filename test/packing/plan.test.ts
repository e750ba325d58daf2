/**
 * Packing plans, by property over random box sets and portions (fast-check), not by a few
 * examples: a plan exists, holds N, keeps to its mode's limits, is the same whatever the order of
 * the boxes, is never beaten by any other plan (compared with an exhaustive search on small N and
 * with random valid plans on any N), and an economical plan never uses more boxes than a spacious one.
 */
import fc from 'fast-check';
import t from 'tap';
import {
  centikilograms,
  kilogramsText,
  MAX_PORTIONS,
  PACKING_MODES,
  packingPlan,
  type PackingBox,
  type PackingMode,
  type PackingPlan,
} from '../../src/packing/plan.js';

const RUNS = 300;

const boxArbitrary = (id: number) =>
  fc
    .record({
      qntFrom: fc.integer({ min: 0, max: 40 }),
      width: fc.integer({ min: 0, max: 40 }),
      overflow: fc.integer({ min: 0, max: 4 }),
      selfWeight: fc.integer({ min: 0, max: 300 }).map(kilogramsText),
    })
    .map(({ qntFrom, width, overflow, selfWeight }) => ({ id, marking: `B${id}`, qntFrom, qntTo: qntFrom + width, overflow, selfWeight }));

/** 1 to 6 boxes with distinct ids, at least one of which holds a portion. */
const boxSets = fc
  .uniqueArray(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 6 })
  .chain((ids) => fc.tuple(...ids.map(boxArbitrary)))
  .filter((boxes) => boxes.some((b) => b.qntTo >= 1));
const modes = fc.constantFrom(...PACKING_MODES);

/** The cost a plan is chosen by, in the order it is compared: boxes, overflowed, underfilled, own weight. */
type Cost = [number, number, number, number];
function costOf(boxes: PackingBox[], placed: { id: number; portions: number }[]): Cost {
  const byId = new Map(boxes.map((b) => [b.id, b]));
  const cost: Cost = [0, 0, 0, 0];
  for (const { id, portions } of placed) {
    const box = byId.get(id)!;
    cost[0] += 1;
    cost[1] += portions > box.qntTo ? 1 : 0;
    cost[2] += portions < Math.max(1, box.qntFrom) ? 1 : 0;
    cost[3] += centikilograms(box.selfWeight);
  }
  return cost;
}
const placedOf = (plan: PackingPlan) => plan.boxes.flatMap((b) => b.portions.map((portions) => ({ id: b.id, portions })));
const compare = (a: Cost, b: Cost) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2] || a[3] - b[3];
const limitOf = (box: PackingBox, mode: PackingMode) => box.qntTo + (mode === 'economical' ? box.overflow : 0);

/** The best cost by the plain definition: every box, every number of portions it may take, recursively. */
function exhaustiveBest(boxes: PackingBox[], portions: number, mode: PackingMode): Cost | null {
  const memo = new Map<number, Cost | null>([[0, [0, 0, 0, 0]]]);
  const best = (n: number): Cost | null => {
    if (memo.has(n)) return memo.get(n)!;
    let found: Cost | null = null;
    for (const box of boxes) {
      for (let p = 1; p <= Math.min(n, limitOf(box, mode)); p++) {
        const rest = best(n - p);
        if (!rest) continue;
        const one = costOf(boxes, [{ id: box.id, portions: p }]);
        const total: Cost = [rest[0] + one[0], rest[1] + one[1], rest[2] + one[2], rest[3] + one[3]];
        if (!found || compare(total, found) < 0) found = total;
      }
    }
    memo.set(n, found);
    return found;
  };
  return best(portions);
}

function checkPlan(boxes: PackingBox[], portions: number, mode: PackingMode, plan: PackingPlan | null): string[] {
  if (!plan) return [`no plan for ${portions} (${mode})`];
  const byId = new Map(boxes.map((b) => [b.id, b]));
  const placed = placedOf(plan);
  const problems: string[] = [];
  if (plan.mode !== mode || plan.portions !== portions) problems.push('mode or portions differ');
  if (placed.reduce((s, p) => s + p.portions, 0) !== portions) problems.push('the portions do not add up to N');
  for (const b of plan.boxes) {
    const box = byId.get(b.id);
    if (!box) problems.push(`box ${b.id} is not one of the boxes given`);
    else if (b.count !== b.portions.length || b.marking !== box.marking) problems.push(`box ${b.id}: count or marking`);
  }
  for (const { id, portions: p } of placed) if (p < 1 || p > limitOf(byId.get(id)!, mode)) problems.push(`box ${id} gets ${p}`);
  if (plan.capacity < portions) problems.push('capacity below N');
  const capacity = placed.reduce((s, { id }) => s + limitOf(byId.get(id)!, mode), 0);
  if (plan.capacity !== capacity) problems.push(`capacity ${plan.capacity}, expected ${capacity}`);
  const weight = kilogramsText(placed.reduce((s, { id }) => s + centikilograms(byId.get(id)!.selfWeight), 0));
  if (plan.weight !== weight) problems.push(`weight ${plan.weight}, expected ${weight}`);
  const overflow = placed.reduce((s, { id, portions: p }) => s + Math.max(0, p - byId.get(id)!.qntTo), 0);
  if (plan.overflow !== overflow) problems.push(`overflow ${plan.overflow}, expected ${overflow}`);
  if (mode === 'spacious' && plan.overflow !== 0) problems.push('a spacious plan overflows');
  return problems;
}

t.test('a plan exists for every N, holds N, and keeps to its mode', async (t) => {
  fc.assert(
    fc.property(boxSets, fc.integer({ min: 1, max: MAX_PORTIONS }), modes, (boxes, portions, mode) => {
      const plan = packingPlan(boxes, portions, mode);
      t.same(checkPlan(boxes, portions, mode, plan), [], `${mode} ${portions}`);
      return checkPlan(boxes, portions, mode, plan).length === 0;
    }),
    { numRuns: RUNS },
  );
  // and the edges: 1, a few hundred in a row, the documented limit
  const shop: PackingBox[] = [
    { id: 7, marking: 'XS2', qntFrom: 1, qntTo: 3, overflow: 0, selfWeight: '0.15' },
    { id: 8, marking: 'S3', qntFrom: 4, qntTo: 5, overflow: 0, selfWeight: '0.25' },
    { id: 10, marking: 'M2', qntFrom: 10, qntTo: 15, overflow: 1, selfWeight: '0.60' },
    { id: 11, marking: 'NK', qntFrom: 16, qntTo: 24, overflow: 2, selfWeight: '0.80' },
    { id: 12, marking: 'XL1', qntFrom: 25, qntTo: 36, overflow: 2, selfWeight: '1.20' },
  ];
  const failures: string[] = [];
  for (const mode of PACKING_MODES) {
    for (const n of [...Array.from({ length: 300 }, (_, i) => i + 1), MAX_PORTIONS - 1, MAX_PORTIONS]) {
      const problems = checkPlan(shop, n, mode, packingPlan(shop, n, mode));
      if (problems.length) failures.push(`${mode} ${n}: ${problems.join('; ')}`);
    }
  }
  t.same(failures, [], "the shop's boxes: every N from 1 to 300, and the limit");
  t.throws(() => packingPlan(shop, 0, 'spacious'), RangeError, 'N = 0 is refused');
  t.throws(() => packingPlan(shop, MAX_PORTIONS + 1, 'spacious'), RangeError, 'beyond the limit is refused');
});

t.test('no box that holds a portion: no plan; such boxes are left out of plans', async (t) => {
  const empty = { id: 1, marking: 'E', qntFrom: 0, qntTo: 0, overflow: 3, selfWeight: '0.10' };
  t.equal(packingPlan([], 5, 'spacious'), null);
  t.equal(packingPlan([empty], 2, 'economical'), null);
  fc.assert(
    fc.property(boxSets, fc.integer({ min: 1, max: 500 }), modes, (boxes, n, mode) =>
      packingPlan([...boxes, { ...empty, id: 5000 }], n, mode)!.boxes.every((b) => b.id !== 5000),
    ),
    { numRuns: RUNS },
  );
});

t.test('the same boxes and N give the same plan, whatever the order of the boxes', async (t) => {
  fc.assert(
    fc.property(
      boxSets.chain((boxes) =>
        fc.tuple(fc.constant(boxes), fc.shuffledSubarray(boxes, { minLength: boxes.length, maxLength: boxes.length })),
      ),
      fc.integer({ min: 1, max: 2000 }),
      modes,
      ([boxes, shuffled], n, mode) => {
        const plan = packingPlan(boxes, n, mode);
        t.same(packingPlan(shuffled, n, mode), plan);
        t.same(packingPlan(boxes, n, mode), plan);
        return true;
      },
    ),
    { numRuns: RUNS },
  );
});

t.test('an economical plan never uses more boxes than the spacious one', async (t) => {
  fc.assert(
    fc.property(boxSets, fc.integer({ min: 1, max: MAX_PORTIONS }), (boxes, n) => {
      const boxCount = (plan: PackingPlan | null) => plan!.boxes.reduce((s, b) => s + b.count, 0);
      return boxCount(packingPlan(boxes, n, 'economical')) <= boxCount(packingPlan(boxes, n, 'spacious'));
    }),
    { numRuns: RUNS },
  );
  t.pass();
});

t.test('no plan is better: the exhaustive search on small N finds the same cost', async (t) => {
  fc.assert(
    fc.property(
      boxSets.map((b) => b.slice(0, 4)).filter((b) => b.some((x) => x.qntTo >= 1)),
      fc.integer({ min: 1, max: 40 }),
      modes,
      (boxes, n, mode) => {
        const plan = packingPlan(boxes, n, mode)!;
        return compare(costOf(boxes, placedOf(plan)), exhaustiveBest(boxes, n, mode)!) === 0;
      },
    ),
    { numRuns: RUNS },
  );
  t.pass();
});

t.test('no plan is better: any valid plan for large N costs at least as much', async (t) => {
  // a random valid plan: boxes drawn at random, each given a random number of portions it may take
  const randomPlan = (boxes: PackingBox[], n: number, mode: PackingMode, draws: number[]) => {
    const usable = boxes.filter((b) => limitOf(b, mode) >= 1);
    const placed: { id: number; portions: number }[] = [];
    for (let left = n, i = 0; left > 0; i++) {
      const draw = draws[i % draws.length]! + i;
      const box = usable[draw % usable.length]!;
      const portions = Math.min(left, 1 + (draw % limitOf(box, mode)));
      placed.push({ id: box.id, portions });
      left -= portions;
    }
    return placed;
  };
  fc.assert(
    fc.property(
      boxSets,
      fc.integer({ min: 1, max: 3000 }),
      modes,
      fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
      (boxes, n, mode, draws) => {
        const plan = packingPlan(boxes, n, mode)!;
        return compare(costOf(boxes, placedOf(plan)), costOf(boxes, randomPlan(boxes, n, mode, draws))) <= 0;
      },
    ),
    { numRuns: RUNS },
  );
  t.pass();
});
