/** A fixed list of values, emitted in order by a single reader. */
import type { Collector } from '../../contract/functions.js';
import { EddyError } from '../../failure.js';
import type { ConnectorContext, PollStatus, Source, SourceReader, SplitPosition } from '../types.js';

/** What a collection reader keeps in a checkpoint. */
export interface CollectionState {
  /** Index of the next element to emit. */
  offset: number;
}

/** The given values, in order, as a bounded source of parallelism 1 (Flink's `fromElements`); checkpointed by index. */
export function fromElements<T>(...values: T[]): Source<T> {
  return {
    kind: 'fromElements',
    stateful: true,
    bounded: true,
    maxParallelism: 1,
    createReader(ctx: ConnectorContext) {
      // The runtime keeps this source at parallelism 1; extra readers would duplicate it.
      return new CollectionReader(ctx.subtaskIndex === 0 ? values : []);
    },
  };
}

class CollectionReader<T> implements SourceReader<T> {
  private offset = 0;

  constructor(private readonly values: readonly T[]) {}

  restoreState(state: unknown): void {
    // A union of states (after a rescale) has exactly one entry for this single reader.
    const s = Array.isArray(state) ? state.find((x) => x != null) : state;
    if (s == null) return;
    const offset = (s as CollectionState).offset;
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new EddyError('STATE_FAILED', `fromElements: restored source state is malformed: ${JSON.stringify(s)}`);
    }
    this.offset = offset;
  }

  /** The element being emitted: its index in the list (the offset was advanced past it). */
  currentOrigin(): SplitPosition | undefined {
    return this.offset > 0 ? { split: 'fromElements', offset: this.offset - 1 } : undefined;
  }

  snapshotState(): CollectionState {
    return { offset: this.offset };
  }

  poll(out: Collector<T>, max: number): PollStatus {
    const values = this.values;
    const start = this.offset;
    const stop = Math.min(values.length, start + max);
    for (let i = start; i < stop; i++) {
      // Advance first: the element counts as emitted once it is handed downstream.
      this.offset = i + 1;
      out.collect(values[i]);
    }
    return stop > start || stop < values.length ? 'more' : 'end';
  }
}
