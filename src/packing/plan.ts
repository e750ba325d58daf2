/**
 * Packing plans: which boxes an order of N portions goes into, in the two modes of the old back
 * office. A plan is a set of boxes (several of one kind, or of different kinds) and the portions
 * each box gets, chosen by dynamic programming over the portions, so that it is the best plan by
 * the mode's order of preference, not a heuristic's guess:
 *
 * - spacious (the default): no box gets more than its `qntTo`; the fewest boxes, then the fewest
 *   boxes filled below their `qntFrom`, then the lightest boxes (their own weight);
 * - economical: a box may take up to `overflow` portions beyond its `qntTo`; the fewest boxes, then
 *   the fewest boxes filled beyond `qntTo`, then the fewest below `qntFrom`, then the lightest.
 *
 * Every spacious plan is also an economical one, so an economical plan never has more boxes. Ties
 * left after all of these go to the box of the lower id: the same boxes and N give the same plan
 * whatever order the rows come in. A plan exists for every N from 1 to MAX_PORTIONS as soon as one
 * box holds a portion (qntTo >= 1); boxes that hold none (qntTo = 0, which the API no longer accepts)
 * are left out.
 */

export const PACKING_MODES = ['spacious', 'economical'] as const;
export type PackingMode = (typeof PACKING_MODES)[number];
/** The mode when none is asked for: no box gets more than its qntTo. */
export const DEFAULT_PACKING_MODE: PackingMode = 'spacious';

/** The most portions a plan is made for (the DP costs O(N × boxes)). */
export const MAX_PORTIONS = 10_000;

/** A box as the plan needs it; `selfWeight` is the box's own weight, kg as a decimal string. */
export interface PackingBox {
  id: number;
  marking: string;
  qntFrom: number;
  qntTo: number;
  overflow: number;
  selfWeight: string;
}

export interface PlannedBoxes {
  id: number;
  marking: string;
  count: number;
  /** The portions each of these boxes gets, most first. */
  portions: number[];
}

export interface PackingPlan {
  mode: PackingMode;
  portions: number;
  boxes: PlannedBoxes[];
  /** The most portions the plan's boxes take in this mode: Σ qntTo, plus Σ overflow when economical. */
  capacity: number;
  /** The boxes' own weight, kg as a decimal string. */
  weight: string;
  /** Portions packed beyond the boxes' qntTo (economical only; 0 when spacious). */
  overflow: number;
}

/** Kilograms as a decimal string ("1.20") to hundredths of a kilogram (120), exactly. */
export function centikilograms(kg: string): number {
  const match = /^(\d+)(?:\.(\d{1,2}))?$/.exec(kg);
  if (!match) throw new Error(`not a weight in kg: ${kg}`);
  return Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
}

/** Hundredths of a kilogram as kg, a decimal string with two places. */
export const kilogramsText = (centi: number) => `${Math.floor(centi / 100)}.${String(centi % 100).padStart(2, '0')}`;

/** A range of portions one box may get, and what it costs beyond the box itself. */
interface Segment {
  box: number;
  from: number;
  to: number;
  overflowed: number;
  underfilled: number;
}

function segmentsOf(boxes: PackingBox[], mode: PackingMode): Segment[] {
  const segments: Segment[] = [];
  boxes.forEach((box, index) => {
    const low = Math.max(1, box.qntFrom);
    const high = box.qntTo;
    const add = (from: number, to: number, overflowed: number, underfilled: number) => {
      if (from <= to) segments.push({ box: index, from, to, overflowed, underfilled });
    };
    add(1, Math.min(low - 1, high), 0, 1);
    add(low, high, 0, 0);
    if (mode === 'economical') add(high + 1, high + box.overflow, 1, 0);
  });
  return segments;
}

/**
 * The best plan for `portions` portions, or null when no box holds a portion. Costs are compared
 * in order: boxes, boxes overflowed, boxes underfilled, own weight; they add up box by box, so the
 * best plan for n portions is the best of (best plan for n - p) + one box with p portions, and a
 * sliding-window minimum per box range makes each n cost O(segments).
 */
export function packingPlan(allBoxes: PackingBox[], portions: number, mode: PackingMode): PackingPlan | null {
  if (!Number.isInteger(portions) || portions < 1 || portions > MAX_PORTIONS) throw new RangeError(`portions must be 1 to ${MAX_PORTIONS}`);
  const boxes = allBoxes.filter((b) => b.qntTo >= 1).sort((a, b) => a.id - b.id);
  const weights = boxes.map((b) => centikilograms(b.selfWeight));
  const segments = segmentsOf(boxes, mode);
  const size = portions + 1;
  // the cost of the best plan for exactly n portions, one array per component
  const count = new Float64Array(size).fill(Infinity);
  const overflowed = new Float64Array(size);
  const underfilled = new Float64Array(size);
  const weight = new Float64Array(size);
  const chosenSegment = new Int32Array(size).fill(-1);
  const chosenFrom = new Int32Array(size);
  count[0] = 0;
  // is the plan for i, plus segment s, cheaper than the plan for j plus segment t?
  const less = (i: number, s: Segment, j: number, t: Segment) =>
    count[i]! - count[j]! ||
    overflowed[i]! + s.overflowed - overflowed[j]! - t.overflowed ||
    underfilled[i]! + s.underfilled - underfilled[j]! - t.underfilled ||
    weight[i]! + weights[s.box]! - weight[j]! - weights[t.box]!;
  // one monotone deque of candidate predecessors per segment: costs increasing from the front
  const deques = segments.map(() => ({ items: new Int32Array(size), head: 0, tail: 0 }));
  for (let n = 1; n <= portions; n++) {
    let best = -1;
    let bestSegment = -1;
    for (let s = 0; s < segments.length; s++) {
      const segment = segments[s]!;
      const deque = deques[s]!;
      const entering = n - segment.from;
      if (entering >= 0 && count[entering] !== Infinity) {
        while (deque.tail > deque.head && less(deque.items[deque.tail - 1]!, segment, entering, segment) >= 0) deque.tail--;
        deque.items[deque.tail++] = entering;
      }
      while (deque.tail > deque.head && deque.items[deque.head]! < n - segment.to) deque.head++;
      if (deque.tail === deque.head) continue;
      const from = deque.items[deque.head]!;
      if (best < 0 || less(from, segment, best, segments[bestSegment]!) < 0) {
        best = from;
        bestSegment = s;
      }
    }
    if (best < 0) continue;
    const segment = segments[bestSegment]!;
    count[n] = count[best]! + 1;
    overflowed[n] = overflowed[best]! + segment.overflowed;
    underfilled[n] = underfilled[best]! + segment.underfilled;
    weight[n] = weight[best]! + weights[segment.box]!;
    chosenSegment[n] = bestSegment;
    chosenFrom[n] = best;
  }
  if (count[portions] === Infinity) return null;

  const byBox = new Map<number, number[]>();
  for (let n = portions; n > 0; n = chosenFrom[n]!) {
    const box = segments[chosenSegment[n]!]!.box;
    byBox.set(box, [...(byBox.get(box) ?? []), n - chosenFrom[n]!]);
  }
  const planned = [...byBox.entries()]
    .sort(([a], [b]) => boxes[b]!.qntTo - boxes[a]!.qntTo || boxes[a]!.id - boxes[b]!.id)
    .map(([index, given]) => ({ box: boxes[index]!, given: given.sort((a, b) => b - a) }));
  return {
    mode,
    portions,
    boxes: planned.map(({ box, given }) => ({ id: box.id, marking: box.marking, count: given.length, portions: given })),
    capacity: planned.reduce((sum, { box, given }) => sum + given.length * (box.qntTo + (mode === 'economical' ? box.overflow : 0)), 0),
    weight: kilogramsText(weight[portions]!),
    overflow: planned.reduce((sum, { box, given }) => sum + given.reduce((over, p) => over + Math.max(0, p - box.qntTo), 0), 0),
  };
}
