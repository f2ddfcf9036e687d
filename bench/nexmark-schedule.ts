/**
 * The order of one Nexmark query's runs. A round runs every mode of the DataStream job and
 * every mode of its SQL twin, each version as a block: first a run of that version, not
 * measured, then its measured runs, one per mode. So every measured run follows a run of its
 * own job. A run right after the other version's job is the slower one, by up to a quarter on
 * stateful queries (sqlcalc3 measured q4 exactly-once at 0.76 / 1.14 / 0.70 / 1.10 SQL over
 * DataStream alternating which went first, and 0.90 / 0.91 / 0.93 with each job warmed by a
 * run of itself): both share the worker threads, and the second inherits the first one's heap
 * and competes with its optimised code. The SQL / DataStream ratio pairs the two blocks' runs
 * of one round and mode. Across rounds the blocks swap which goes first, and the modes rotate
 * so that no mode always opens a block. A query without SQL runs its DataStream job alone, with
 * no warm-up run (no other job comes between).
 */

export type Variant = 'datastream' | 'sql';

/** One run of the schedule. */
export interface ScheduledRun<M extends string> {
  /** 0-based. */
  round: number;
  variant: Variant;
  mode: M;
  /** False for the unmeasured run that opens a version's block (run without checkpoints). */
  measured: boolean;
  /** This version's block opens the round (it ran before its partner's). */
  first: boolean;
}

export function runSchedule<M extends string>(rounds: number, modes: readonly M[], withSql: boolean): ScheduledRun<M>[] {
  const out: ScheduledRun<M>[] = [];
  for (let round = 0; round < rounds; round++) {
    const versions: Variant[] = !withSql ? ['datastream'] : round % 2 === 0 ? ['datastream', 'sql'] : ['sql', 'datastream'];
    for (const [k, variant] of versions.entries()) {
      const first = k === 0;
      if (withSql) out.push({ round, variant, mode: modes[0], measured: false, first });
      for (let i = 0; i < modes.length; i++) out.push({ round, variant, mode: modes[(round + i) % modes.length], measured: true, first });
    }
  }
  return out;
}
