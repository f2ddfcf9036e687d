/**
 * Per chained operator of a task: its keyed state backend (heap or LMDB, over the subtask's
 * key-group range), its operator state, and its connector (a source's reader, a sink's
 * writer), made before the chain is built because readers and writers may be async to create.
 */
import { join } from 'node:path';
import type { SinkWriter, SourceReader } from '../core/connectors/types.js';
import type { Collector } from '../core/contract/functions.js';
import { EddyError } from '../core/failure.js';
import type { JobVertex } from '../core/graph/job-graph.js';
import { displayName, type StreamNode } from '../core/graph/stream-graph.js';
import { operatorFailure } from '../core/operators/failures.js';
import type { TaskSpec } from '../core/runtime/messages.js';
import { HeapKeyedStore } from '../core/state/heap/heap-keyed-store.js';
import type { KeyedBackend } from '../core/state/keyed-backend.js';
import { keyGroupRange } from '../core/state/key-groups.js';
import { LmdbKeyedStore } from '../core/state/lmdb/lmdb-keyed-store.js';
import { OperatorStateStore } from '../core/state/operator-state.js';
import { connectorContext } from './connector-context.js';

/** One chained operator's state and connector, as snapshots and restores see it. */
export interface NodeRuntime {
  node: StreamNode;
  uid: string;
  keyed: KeyedBackend | undefined;
  operatorState: OperatorStateStore;
  reader?: SourceReader<unknown>;
  writer?: SinkWriter<unknown>;
}

/** File names allow only a safe alphabet: a uid may contain anything. */
export function fileSafe(uid: string): string {
  return uid.replace(/[^A-Za-z0-9_-]/g, (c) => `~${c.charCodeAt(0).toString(16)}`);
}

/**
 * The keyed state of one operator subtask. An LMDB environment is named by operator, subtask
 * and parallelism, so a restart at the same parallelism finds its own (for local recovery).
 */
function createKeyedBackend(spec: TaskSpec, uid: string, range: { start: number; end: number }, parallelism: number): KeyedBackend {
  const s = spec.settings;
  if (s.stateBackend !== 'lmdb') return new HeapKeyedStore(range.start, range.end);
  if (spec.localDir === undefined) throw new EddyError('INTERNAL', 'the LMDB state backend was chosen but the task got no local directory');
  return new LmdbKeyedStore({
    path: join(spec.localDir, `${fileSafe(uid)}-${spec.subtask}-of-${parallelism}`),
    rangeStart: range.start,
    rangeEnd: range.end,
    cacheBytes: s.stateCacheMb * 1024 * 1024,
    operatorUid: uid,
    subtask: spec.subtask,
    localRecovery: s.localRecovery,
    resumeAt: spec.restore?.checkpointId,
  });
}

/**
 * The runtimes of the vertex's nodes, head first. `sideOutput` serves a source's side outputs
 * (dead letters), which leave through the task output, built later.
 */
export async function createNodeRuntimes(
  spec: TaskSpec,
  vertex: JobVertex,
  maxParallelism: number,
  sideOutput: (tagId: string) => Collector<unknown> | undefined,
): Promise<NodeRuntime[]> {
  const p = vertex.parallelism;
  const nodes: NodeRuntime[] = [];
  for (const node of vertex.nodes) {
    const uid = displayName(node);
    const rt: NodeRuntime = { node, uid, keyed: undefined, operatorState: new OperatorStateStore() };
    if (node.keySelector && node.kind !== 'sink')
      rt.keyed = createKeyedBackend(spec, uid, keyGroupRange(spec.subtask, maxParallelism, p), p);
    try {
      if (node.kind === 'source') rt.reader = await node.source!.createReader({ ...connectorContext(spec, node, p), sideOutput });
      if (node.kind === 'sink') rt.writer = await node.sink!.createWriter(connectorContext(spec, node, p));
    } catch (err) {
      const sink = node.kind === 'sink';
      throw operatorFailure(err, sink ? 'SINK_FAILED' : 'SOURCE_FAILED', `${sink ? 'sink' : 'source'} failed to start`, uid, spec.subtask);
    }
    nodes.push(rt);
  }
  return nodes;
}
