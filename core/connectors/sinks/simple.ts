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

/**
 * Gathers the records into the job result (`collected[uid]`). They are reported at the end
 * of a bounded job only, so a failed attempt contributes nothing; being stateless, records
 * written before a restored checkpoint are not reported after a restart.
 */
export function collect<T>(): Sink<T> {
  return {
    kind: 'collect',
    stateful: false,
    createWriter(ctx: ConnectorContext): SinkWriter<T> {
      let records: T[] = [];
      return {
        write(value: T) {
          records.push(value);
        },
        finish() {
          const all = records;
          records = [];
          for (let i = 0; i < all.length; i += COLLECT_CHUNK) ctx.report('collect', all.slice(i, i + COLLECT_CHUNK));
        },
        abort() {
          records = [];
        },
      };
    },
  };
}
