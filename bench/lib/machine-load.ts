/**
 * How busy the machine was while a figure was measured, besides what the measurement itself ran:
 * the 1-minute load average as it started, and the CPU that other processes used meanwhile (the
 * machine's busy time, /proc/stat, less that of the processes the caller names), in cores.
 */
import { loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { cpuSeconds } from './processes.js';

/** Over this many cores busy with other work on average, a figure is marked as measured on a loaded machine. */
export const LOADED_CORES = 0.25;

export interface Load {
  /** 1-minute load average as the measurement started. */
  average: number;
  /** Cores other processes kept busy on average meanwhile. */
  others: number;
}

let ticksPerSecond: number | undefined;
/** CPU seconds the whole machine has spent busy so far (every state of /proc/stat's cpu line but idle and iowait). */
function machineBusySeconds(): number {
  ticksPerSecond ??= cpuSeconds.ticksPerSecond();
  const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / ticksPerSecond;
}

const cpuOf = (pid: number) => {
  try {
    return cpuSeconds(pid);
  } catch {
    return undefined; // ended meanwhile
  }
};

/** Starts watching; `ours()` names the measurement's own processes (asked at the start and at the end). */
export async function watchLoad(ours: () => Promise<number[]>) {
  const average = loadavg()[0]!;
  const started = performance.now();
  const busy = machineBusySeconds();
  const before = new Map((await ours()).map((pid) => [pid, cpuOf(pid)]));
  return {
    async stop(): Promise<Load> {
      const after = await ours();
      const busyNow = machineBusySeconds();
      let own = 0;
      for (const pid of new Set([...before.keys(), ...after])) {
        const [from, to] = [before.get(pid) ?? 0, cpuOf(pid)];
        if (to !== undefined) own += to - (from ?? 0);
      }
      const seconds = (performance.now() - started) / 1000;
      return { average, others: Math.max(0, (busyNow - busy - own) / seconds) };
    },
  };
}
