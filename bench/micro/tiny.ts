/** Running a tinybench group and keeping what the report needs from each task. */
import { Bench } from 'tinybench';

export interface MicroRow {
  group: string;
  name: string;
  /** Units of work per task call (records, barriers, frames...), so rates are per unit. */
  unitsPerCall: number;
  unit: string;
  /** Units per second (tinybench mean throughput × unitsPerCall). */
  unitsPerSec: number;
  /** Mean time per unit, ns. */
  nsPerUnit: number;
  /** Relative margin of error of the mean latency, %. */
  rme: number;
  samples: number;
  /** Extra figures of a row (e.g. bytes/s for the ring). */
  extra?: Record<string, number>;
}

export interface MicroTask {
  name: string;
  unitsPerCall: number;
  fn: () => unknown;
  extra?: (unitsPerSec: number) => Record<string, number>;
}

export async function runGroup(group: string, unit: string, timeMs: number, tasks: MicroTask[]): Promise<MicroRow[]> {
  const bench = new Bench({ name: group, time: timeMs, warmupTime: Math.min(200, timeMs / 2), iterations: 8, throws: true });
  for (const t of tasks) bench.add(t.name, t.fn);
  await bench.run();
  return bench.tasks.map((task, i) => {
    const r = task.result;
    if (r.state !== 'completed')
      throw new Error(`micro ${group}/${task.name}: ${r.state}${'error' in r ? `: ${(r.error as Error).message}` : ''}`);
    const t = tasks[i];
    const unitsPerSec = (1000 / r.latency.mean) * t.unitsPerCall;
    return {
      group,
      name: t.name,
      unitsPerCall: t.unitsPerCall,
      unit,
      unitsPerSec,
      nsPerUnit: (r.latency.mean * 1e6) / t.unitsPerCall,
      rme: r.latency.rme,
      samples: r.latency.samplesCount ?? 0,
      ...(t.extra ? { extra: t.extra(unitsPerSec) } : {}),
    };
  });
}
