/**
 * The sink of a query the shell runs: it hands the result's changes to the shell's thread as
 * they come, over a BroadcastChannel named by the shell (worker threads of one process share
 * it), so the table can update while the query runs. Nothing is transactional: the shell shows
 * a live view, as Flink's SQL client does, and a stopped query keeps what it showed.
 */
import type { Sink, SinkWriter } from '../../connectors/types.js';
import type { ResultChange } from './result-table.js';

/** What the shell's channel carries. */
export type LiveMessage = { type: 'changes'; subtask: number; changes: ResultChange[] } | { type: 'end'; subtask: number };

/** Changes per message: bounds one structured clone. */
const BATCH = 512;
/** How long a change may wait in the worker before it is sent, in ms. */
const FLUSH_MS = 50;

/** A sink that posts every change to the BroadcastChannel `channel`. */
export function liveResultSink(channel: string): Sink<ResultChange> {
  return {
    kind: 'shellResult',
    stateful: false,
    createWriter(ctx): SinkWriter<ResultChange> {
      const bc = new BroadcastChannel(channel);
      bc.unref();
      let pending: ResultChange[] = [];
      const flush = () => {
        if (pending.length === 0) return;
        const msg: LiveMessage = { type: 'changes', subtask: ctx.subtaskIndex, changes: pending };
        bc.postMessage(msg);
        pending = [];
      };
      const timer = setInterval(flush, FLUSH_MS);
      timer.unref();
      const stop = () => {
        clearInterval(timer);
        bc.close();
      };
      return {
        write(change) {
          pending.push(change);
          if (pending.length >= BATCH) flush();
        },
        finish() {
          flush();
          const end: LiveMessage = { type: 'end', subtask: ctx.subtaskIndex };
          bc.postMessage(end);
          stop();
        },
        abort: stop,
        close() {
          clearInterval(timer);
        },
      };
    },
  };
}
