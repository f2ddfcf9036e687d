/**
 * The order of one Nexmark query's measured runs. A round runs every mode once, the DataStream
 * job and its SQL twin back to back as a pair, so each SQL / DataStream ratio sets two runs a few
 * seconds apart on the same threads against each other. Across rounds a mode's pair swaps which
 * goes first (the second run of a pair inherits the first one's heap and competes with its
 * optimised code in the shared threads), and the modes rotate so that no mode always runs first.
 */

export type Variant = 'datastream' | 'sql';

/** One pair of runs: a query's DataStream job and, where its SQL runs, its SQL, in `order`. */
export interface PairSlot<M extends string> {
  /** 0-based. */
  round: number;
  mode: M;
  order: readonly Variant[];
}

export function pairSchedule<M extends string>(rounds: number, modes: readonly M[], withSql: boolean): PairSlot<M>[] {
  const out: PairSlot<M>[] = [];
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < modes.length; i++) {
      const m = (round + i) % modes.length;
      // By the mode's own index, so each mode alternates from round to round (and within a round
      // neighbouring pairs start with different variants).
      const order: Variant[] = !withSql ? ['datastream'] : (round + m) % 2 === 0 ? ['datastream', 'sql'] : ['sql', 'datastream'];
      out.push({ round, mode: modes[m], order });
    }
  }
  return out;
}
