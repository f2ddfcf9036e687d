/**
 * Builds a task's operator chain from its node runtimes, last first. The chain is a tree
 * (job-graph.ts): each operator's `next` is what consumes its records in the task — its chained
 * children, and the view of the task output holding its own outgoing edges if it has any; one
 * of those is `next` itself, several a fan-out. A sink node becomes a SinkOperator over its
 * writer; a keyed one-input node is wrapped to set the key of every record; a source node
 * becomes the chain's head through its counter, behind the watermark assigner when the source
 * has a watermark strategy.
 */
import type { Collector } from '../core/contract/functions.js';
import type { JobVertex } from '../core/graph/job-graph.js';
import type { StreamNode } from '../core/graph/stream-graph.js';
import type { SourceReader } from '../core/connectors/types.js';
import { fanOut } from '../core/operators/fan-out.js';
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
  /** Chained operators after the source (if any), in the vertex's order (every one after its parent). */
  operators: ChainOperator[];
  /** Where the task's input goes: the first operator, or the source's counter. */
  head: Collector<unknown>;
  source: { node: StreamNode; reader: SourceReader<unknown>; counter: SourceCounter } | undefined;
}

export function buildChain(h: ChainHost): Chain {
  const { spec, plan, nodes, time, output } = h;
  const s = plan.settings;
  const { parents } = h.vertex;
  const first = nodes[0].reader ? 1 : 0;
  const view = (i: number) => output?.viewOf(nodes[i].node.id);
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
      sideOutput: (tagId) => view(i)?.sideOutput(tagId),
    };
  };
  // Built last first, so every operator's children exist when it is made.
  const built: ChainOperator[] = new Array(nodes.length);
  const nextOf = (i: number): Collector<unknown> => {
    const targets: Collector<unknown>[] = [];
    const own = view(i);
    // The task output first, as Flink's OperatorChain puts the network outputs before the chained ones.
    if (own?.hasMainOutput) targets.push(own);
    for (let k = i + 1; k < nodes.length; k++) if (parents[k] === i) targets.push(built[k]);
    return targets.length === 0 ? discard : targets.length === 1 ? targets[0] : fanOut(targets, time);
  };
  for (let i = nodes.length - 1; i >= first; i--) {
    const n = nodes[i];
    let op: ChainOperator;
    if (n.writer) {
      op = new SinkOperator(n.writer, { operatorUid: n.uid, subtask: spec.subtask, transactional: h.checkpointing });
    } else {
      op = n.node.factory!(runtime(i), nextOf(i));
      // A two-input head sets the key itself: each input has its own key selector. A keyed node
      // past the head came through a keyed forward edge (reinterpretAsKeyedStream).
      if (n.node.keySelector && !n.node.twoInput) op = new KeyContextOperator(n.node.keySelector, n.keyed!, s.maxParallelism, op);
    }
    built[i] = op;
  }
  const operators = built.slice(first);
  // Before the source's assigner opens: a watermark it makes must find the chain wired.
  time.attach({
    operators,
    parents: parents.slice(first).map((p) => p - first),
    outputs: Array.from({ length: operators.length + 1 }, (_, k) => {
      const v = k - 1 + first >= 0 ? view(k - 1 + first) : undefined;
      return v ? (wm: number, idle: boolean) => v.emitWatermark(wm, idle) : undefined;
    }),
  });
  const reader = nodes[0].reader;
  if (reader === undefined) return { operators, head: operators[0], source: undefined };
  // A source with a watermark strategy: its subtask stamps records and makes watermarks right
  // behind the reader, before the chain (at position -1, like the task's inputs).
  let next = nextOf(0);
  const strategy = nodes[0].node.watermarks;
  if (strategy) {
    const assigner = timestampsOperator(strategy)(runtime(0), next);
    void assigner.open();
    next = assigner;
  }
  const counter = new SourceCounter(next, reader, nodes[0].uid);
  return { operators, head: counter, source: { node: nodes[0].node, reader, counter } };
}

/** The `next` of an operator nothing consumes in the task (a sink's, or one with side outputs only). */
const discard: Collector<unknown> = { collect() {} };
