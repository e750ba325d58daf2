/** V8 CPU profiles (`node --cpu-prof`): the samples of a time window, put into categories. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from './processes.js';

export interface CallFrame {
  functionName: string;
  url: string;
  /** 0-based, in the file V8 ran. */
  lineNumber: number;
  columnNumber: number;
}

interface Profile {
  nodes: { id: number; callFrame: CallFrame; children?: number[] }[];
  /** Microseconds, on the monotonic clock that process.hrtime reads too. */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Category {
  name: string;
  claims: (frame: CallFrame) => boolean;
  /** Takes everything below a frame it claims (e.g. the hashing an ETag does); otherwise only what no deeper frame's category claims. */
  owns?: boolean;
}

/** The main thread's profile that `node --cpu-prof --cpu-prof-dir=<dir>` wrote for process `pid`. */
export function readProfile(dir: string, pid: number): Profile {
  const file = readdirSync(dir).find((name) => name.includes(`.${pid}.0.`) && name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no main-thread profile of process ${pid} in ${dir}`);
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
  for (const node of profile.nodes) node.callFrame.url = originalUrl(node.callFrame);
  return profile;
}

const sourceMaps = new Map<string, SourceMap | undefined>();

/**
 * The file a frame's code was written in: through the bundle's source map for dist/ (npm run
 * build), where every dependency is one file and only the map tells fastify from postgres.js.
 */
function originalUrl({ url, lineNumber, columnNumber }: CallFrame): string {
  if (!url.startsWith('file://')) return url;
  const path = fileURLToPath(url);
  if (!sourceMaps.has(path)) {
    const map = `${path}.map`;
    sourceMaps.set(path, existsSync(map) ? new SourceMap(JSON.parse(readFileSync(map, 'utf8'))) : undefined);
  }
  const entry = sourceMaps.get(path)?.findEntry(lineNumber, columnNumber);
  return entry && 'originalSource' in entry ? resolve(dirname(path), entry.originalSource) : url;
}

/** Now, on the profiles' clock (µs). */
export const profileClock = () => Number(process.hrtime.bigint() / 1000n);

/**
 * Milliseconds of the samples taken between `from` and `to` (profileClock), per category: a sample
 * goes to the first owning category (in list order) claiming a frame of its stack; failing that, to
 * the category of the innermost frame one claims; failing that, to "other".
 */
export function attribute(profile: Profile, categories: Category[], from: number, to: number): Map<string, number> {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const claim = (id: number, owning: boolean) => {
    const frame = frames.get(id)!;
    const index = categories.findIndex((c) => Boolean(c.owns) === owning && c.claims(frame));
    return index < 0 ? Infinity : index;
  };
  // per node: the first owning category on its path from the root, and the innermost other one
  const memo = new Map<number, { owner: number; innermost: number }>();
  const path = (id: number): { owner: number; innermost: number } => {
    let found = memo.get(id);
    if (!found) {
      const up = parent.get(id);
      const above = up === undefined ? { owner: Infinity, innermost: Infinity } : path(up);
      const layered = claim(id, false);
      found = { owner: Math.min(above.owner, claim(id, true)), innermost: layered < Infinity ? layered : above.innermost };
      memo.set(id, found);
    }
    return found;
  };
  return totalsByName(profile, from, to, (id) => {
    const { owner, innermost } = path(id);
    return categories[owner < Infinity ? owner : innermost]?.name ?? 'other';
  });
}

/** Milliseconds of the samples taken between `from` and `to` (profileClock), summed by the name `nameOf` gives each sample's node. */
function totalsByName(profile: Profile, from: number, to: number, nameOf: (id: number) => string): Map<string, number> {
  const totals = new Map<string, number>();
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    if (t < from || t > to) return;
    const name = nameOf(id);
    totals.set(name, (totals.get(name) ?? 0) + delta / 1000);
  });
  return totals;
}

/**
 * Milliseconds of the samples taken between `from` and `to`, per function that was running (its own
 * time, not its callees'), named "function file:line" with node_modules/ and the project's root left out.
 */
export function selfTimes(profile: Profile, from: number, to: number): Map<string, number> {
  const names = new Map(
    profile.nodes.map(({ id, callFrame: f }) => [
      id,
      `${f.functionName || '(anonymous)'} ${f.url
        .replace(/^file:\/\//, '')
        .replace(/^.*node_modules\//, '')
        .replace(PROJECT_ROOT, '')}:${f.lineNumber + 1}`,
    ]),
  );
  return totalsByName(profile, from, to, (id) => names.get(id)!);
}
