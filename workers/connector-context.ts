/**
 * What a source reader or sink writer gets to know about the subtask it runs in, and its way to
 * report to the main thread (collected records, parse counts, duplicates dropped).
 */
import { createHash } from 'node:crypto';
import type { ConnectorContext, ConnectorReport } from '../core/connectors/types.js';
import { displayName, type StreamNode } from '../core/graph/stream-graph.js';
import type { TaskSpec } from '../core/runtime/messages.js';
import { send } from './control-port.js';

/** The connector context of `node`'s subtask; `jobKey` is stable across attempts of one job (its checkpoint directory, else its module). */
export function connectorContext(spec: TaskSpec, node: StreamNode, parallelism: number): ConnectorContext {
  const operatorUid = displayName(node);
  return {
    subtaskIndex: spec.subtask,
    parallelism,
    operatorUid,
    attempt: spec.attempt,
    jobKey: createHash('sha256')
      .update(spec.checkpointDir ?? spec.jobPath)
      .digest('hex')
      .slice(0, 12),
    report(r: ConnectorReport) {
      if (r.kind === 'collect') send(spec, { type: 'collected', operatorUid, chunk: r.chunk });
      else if (r.kind === 'parse-counts') send(spec, { type: 'parse-counts', operatorUid, counts: r.counts });
      else send(spec, { type: 'duplicates-dropped', operatorUid, duplicates: r.duplicates });
    },
  };
}
