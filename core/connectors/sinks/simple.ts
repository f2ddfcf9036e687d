/** Sinks without transactions: print, discard, collect. */
import type { ConnectorContext, Sink, SinkWriter } from '../types.js';

/** Records per report message of collect(): bounds the size of one cross-thread message. */
export const COLLECT_CHUNK = 10_000;

/** Prints each record; with parallelism > 1 prefixed by `<subtask + 1>> ` like Flink. */
export function print<T>(): Sink<T> {
  return {
    kind: 'print',
    stateful: false,
    createWriter(ctx: ConnectorContext): SinkWriter<T> {
      const prefix = ctx.parallelism > 1 ? `${ctx.subtaskIndex + 1}>` : undefined;
      return {
        write: prefix === undefined ? (value: T) => console.log(value) : (value: T) => console.log(prefix, value),
        finish() {},
      };
    },
  };
}

/** Drops every record (for benchmarks and tests). */
export function discard<T>(): Sink<T> {
  return {
    kind: 'discard',
    stateful: false,
    createWriter(): SinkWriter<T> {
      return { write() {}, finish() {} };
    },
  };
}

/** A transaction of the collect sink: the records written between two barriers. */
export interface CollectHandle {
  /** Unique across restarts and subtasks: the main thread keeps each handle's records once. */
  id: string;
  records: unknown[];
}

/**
 * Gathers the records into the job result (`collected[uid]`). Under checkpointing it is a
 * two-phase-commit sink: records are sealed into a handle at each barrier (kept in the
 * checkpoint) and reported when that checkpoint completes; a handle re-committed after a
 * restore carries the same id, and the main thread keeps each id once. So the collected
 * records of an exactly-once job are those of a fault-free run. Without checkpointing they
 * are reported at the end of the job.
 */
export function collect<T>(): Sink<T> {
  return {
    kind: 'collect',
    stateful: true,
    createWriter(ctx: ConnectorContext): SinkWriter<T> {
      const runId = `${ctx.operatorUid}/${ctx.subtaskIndex}/${ctx.attempt}/${Math.random().toString(36).slice(2, 10)}`;
      let seq = 0;
      let records: T[] = [];
      const report = (handle: CollectHandle) => {
        for (let i = 0; i < handle.records.length || i === 0; i += COLLECT_CHUNK) {
          ctx.report({
            kind: 'collect',
            chunk: { id: handle.id, part: i / COLLECT_CHUNK, records: handle.records.slice(i, i + COLLECT_CHUNK) },
          });
        }
      };
      return {
        write(value: T) {
          records.push(value);
        },
        prepareCommit(): CollectHandle[] {
          if (records.length === 0) return [];
          const h: CollectHandle = { id: `${runId}/${seq++}`, records };
          records = [];
          return [h];
        },
        commit(handles: unknown[]) {
          for (const h of handles.flat(2) as CollectHandle[]) if (h && typeof h.id === 'string') report(h);
        },
        finish() {
          if (records.length > 0) report({ id: `${runId}/${seq++}`, records });
          records = [];
        },
        abort() {
          records = [];
        },
      };
    },
  };
}
