/**
 * Builds a task's operator chain from its node runtimes, tail first: each operator's `next` is
 * the operator after it, the last one's the task output. A sink node becomes a SinkOperator
 * over its writer; a keyed one-input head is wrapped to set the key of every record; a source
 * node becomes the chain's head through its counter, behind the watermark assigner when the
 * source has a watermark strategy.
 */
import type { Collector } from '../core/contract/functions.js';
import type { JobVertex } from '../core/graph/job-graph.js';
import type { StreamNode } from '../core/graph/stream-graph.js';
import type { SourceReader } from '../core/connectors/types.js';
import { KeyContextOperator } from '../core/operators/keyed.js';
import type { ChainOperator, OperatorRuntime } from '../core/operators/operator.js';
import { SinkOperator } from '../core/operators/sink.js';
import { timestampsOperator } from '../core/operators/timestamps.js';
import type { JobPlan } from '../core/runtime/job-plan.js';
import type { TaskSpec } from '../core/runtime/messages.js';
import type { TaskTime } from '../core/time/task-time.js';
import { connectorContext } from './connector-context.js';
import type { NodeRuntime } from './node-runtime.js';
import type { TaskOutput } from './output.js';
import { SourceCounter } from './source-counter.js';

/** What the chain is built in. */
export interface ChainHost {
  spec: TaskSpec;
  plan: JobPlan;
  vertex: JobVertex;
  nodes: NodeRuntime[];
  time: TaskTime;
  output: TaskOutput | undefined;
  checkpointing: boolean;
  /** Wakes the task's loop (an operator completed work off the loop). */
  wake: () => void;
}

export interface Chain {
  /** Chained operators after the source (if any), head first. */
  operators: ChainOperator[];
  /** Where the task's input goes: the first operator, or the source's counter. */
  head: Collector<unknown>;
  source: { node: StreamNode; reader: SourceReader<unknown>; counter: SourceCounter } | undefined;
}

export function buildChain(h: ChainHost): Chain {
  const { spec, plan, nodes, time, output } = h;
  const s = plan.settings;
  const first = nodes[0].reader ? 1 : 0;
  const runtime = (i: number): OperatorRuntime => {
    const n = nodes[i];
    return {
      ...connectorContext(spec, n.node, h.vertex.parallelism),
      uid: n.node.uid,
      displayName: n.uid,
      maxParallelism: s.maxParallelism,
      keyedStore: n.keyed,
      operatorState: n.operatorState,
      time,
      chainIndex: i - first,
      autoWatermarkIntervalMs: plan.graph.autoWatermarkIntervalMs,
      wake: h.wake,
      sideOutput: (tagId) => (i === nodes.length - 1 ? output?.sideOutput(tagId) : undefined),
    };
  };
  let next: Collector<unknown> = output ?? { collect() {} };
  const operators: ChainOperator[] = [];
  for (let i = nodes.length - 1; i >= first; i--) {
    const n = nodes[i];
    let op: ChainOperator;
    if (n.writer) {
      op = new SinkOperator(n.writer, { operatorUid: n.uid, subtask: spec.subtask, transactional: h.checkpointing });
    } else {
      op = n.node.factory!(runtime(i), next);
      // A two-input head sets the key itself: each input has its own key selector. A keyed node
      // past the head came through a keyed forward edge (reinterpretAsKeyedStream).
      if (n.node.keySelector && !n.node.twoInput) op = new KeyContextOperator(n.node.keySelector, n.keyed!, s.maxParallelism, op);
    }
    operators.unshift(op);
    next = op;
  }
  // Before the source's assigner opens: a watermark it makes must find the chain wired.
  time.attach(operators, output ? (wm, idle) => output.emitWatermark(wm, idle) : undefined);
  const reader = nodes[0].reader;
  if (reader === undefined) return { operators, head: next, source: undefined };
  // A source with a watermark strategy: its subtask stamps records and makes watermarks right
  // behind the reader, before the chain (at position -1, like the task's inputs).
  const strategy = nodes[0].node.watermarks;
  if (strategy) {
    const assigner = timestampsOperator(strategy)(runtime(0), next);
    void assigner.open();
    next = assigner;
  }
  const counter = new SourceCounter(next, reader, nodes[0].uid);
  return { operators, head: counter, source: { node: nodes[0].node, reader, counter } };
}
