/**
 * The order of one Nexmark query's runs. A round runs every mode once for each version, the two
 * versions' runs of one mode back to back (a pair), the pairs one mode after another. Each
 * mode's pair alternates from round to round which version goes first, and the modes rotate so
 * that no mode always opens a round.
 *
 * The machine's speed drifts over seconds: a pair's runs a few seconds apart see nearly the same
 * machine. Until 2026-12-02 each version ran its modes as a block opened by an unmeasured run of
 * itself, because the two jobs shared worker threads and a run right after the other job was
 * the slower one (sqlcalc3: q4 exactly-once 0.76 / 1.14 / 0.70 / 1.10 alternating which went
 * first). Threads are now kept by kind (a SQL job's serve only SQL jobs: core/runtime/pool.ts),
 * and the blocks put a pair's runs up to a block apart: over q0, q1, q2 and q22 (two A/B pairs,
 * idle) the pair ratios' median deviation was 7.7 % and 6.1 % with blocks, 4.7 % and 3.3 % run
 * by run, and which version went first moved the median ratio by 3 % and 0.5 % (that trial
 * alternated by place in the round, which ran one mode DataStream-first in every round).
 */

export type Variant = 'datastream' | 'sql';

/** One run of the schedule. */
export interface ScheduledRun<M extends string> {
  /** 0-based. */
  round: number;
  variant: Variant;
  mode: M;
  /** It ran before its pair (the other version's run of the same round and mode). */
  first: boolean;
}

export function runSchedule<M extends string>(rounds: number, modes: readonly M[], withSql: boolean): ScheduledRun<M>[] {
  const out: ScheduledRun<M>[] = [];
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < modes.length; i++) {
      const m = (round + i) % modes.length;
      // By round and mode, not by place in the round: each mode's pairs alternate which goes first.
      const versions: Variant[] = !withSql ? ['datastream'] : (round + m) % 2 === 0 ? ['datastream', 'sql'] : ['sql', 'datastream'];
      const mode = modes[m];
      for (const [k, variant] of versions.entries()) out.push({ round, variant, mode, first: k === 0 });
    }
  }
  return out;
}
