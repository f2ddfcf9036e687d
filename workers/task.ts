/**
 * Builds one task from its spec: rebuilds the job plan from the job module, instantiates the
 * chained operators of its vertex tail-first (each one's `next` is the operator after it,
 * the last one's is the task output), and the source reader or input gate in front.
 */
import type { Collector } from '../core/api/functions.js';
import { Gate } from '../core/channel/gate.js';
import type { ConnectorContext, SinkWriter, SourceReader } from '../core/connectors/types.js';
import { EddyError } from '../core/failure.js';
import type { JobVertex } from '../core/graph/job-graph.js';
import { displayName, type StreamNode } from '../core/graph/stream-graph.js';
import { KeyContextOperator } from '../core/operators/keyed.js';
import { operatorFailure } from '../core/operators/failures.js';
import type { ChainOperator, OperatorRuntime } from '../core/operators/operator.js';
import { SinkOperator } from '../core/operators/sink.js';
import { planJob, type JobPlan } from '../core/runtime/job-plan.js';
import { loadJob } from '../core/runtime/module-loader.js';
import type { TaskSpec } from '../core/runtime/messages.js';
import { CONTROL_CANCEL, METRIC_RECORDS_IN, METRIC_RECORDS_OUT, METRICS_PER_SLOT } from '../core/runtime/shared-layout.js';
import { HeapKeyedStore } from '../core/state/heap/heap-keyed-store.js';
import { keyGroupRange } from '../core/state/key-groups.js';
import { OperatorStateStore } from '../core/state/operator-state.js';
import { InputGate } from './input-gate.js';
import { TaskOutput } from './output.js';

/** Counts what the source reader emits, as the source operator's records out. */
class SourceCounter implements Collector<unknown> {
  recordsIn = 0;
  recordsOut = 0;
  constructor(private readonly next: Collector<unknown>) {}
  collect(value: unknown): void {
    this.recordsOut++;
    this.next.collect(value);
  }
}

export class StreamTask {
  readonly plan: JobPlan;
  readonly vertex: JobVertex;
  readonly gate: Gate;
  readonly output: TaskOutput | undefined;
  readonly input: InputGate | undefined;
  /** Chained operators after the source (if any), head first. */
  readonly operators: ChainOperator[] = [];
  readonly head: Collector<unknown>;
  readonly source: { node: StreamNode; reader: SourceReader<unknown>; counter: SourceCounter } | undefined;
  readonly name: string;
  private readonly control: Int32Array;
  private readonly metrics: Float64Array;

  private constructor(
    readonly spec: TaskSpec,
    plan: JobPlan,
    sourceReader: SourceReader<unknown> | undefined,
    writers: Map<number, SinkWriter<unknown>>,
  ) {
    this.plan = plan;
    this.vertex = plan.jobGraph.vertices[spec.vertex];
    this.name = `${this.vertex.name} (${spec.subtask + 1}/${this.vertex.parallelism})`;
    this.gate = new Gate(spec.gate);
    this.control = new Int32Array(spec.control);
    this.metrics = new Float64Array(spec.metrics);
    const s = plan.settings;
    const nodes = this.vertex.nodes;
    const tail = nodes[nodes.length - 1];
    this.output =
      this.vertex.outputs.length > 0
        ? new TaskOutput(this.vertex.outputs, spec.outputs, {
            batchSize: s.batchSize,
            maxParallelism: s.maxParallelism,
            subtask: spec.subtask,
            operatorUid: displayName(tail),
          })
        : undefined;
    const inputEdges = this.vertex.inputs.map((e) => e.id);
    this.input = spec.inputs.length > 0 ? new InputGate(spec.inputs, (edge) => inputEdges.indexOf(edge), this.gate) : undefined;

    let next: Collector<unknown> = this.output ?? { collect() {} };
    const firstOp = nodes[0].kind === 'source' ? 1 : 0;
    const ops: ChainOperator[] = [];
    for (let i = nodes.length - 1; i >= firstOp; i--) {
      const node = nodes[i];
      const rt = this.runtimeFor(node);
      let op: ChainOperator;
      if (node.kind === 'sink') {
        op = new SinkOperator(writers.get(node.id)!);
      } else {
        op = node.factory!(rt, next);
        if (node.keySelector && i === 0) op = new KeyContextOperator(node.keySelector, rt.keyedStore!, s.maxParallelism, op);
      }
      ops.unshift(op);
      next = op;
    }
    this.operators = ops;
    if (sourceReader) {
      const counter = new SourceCounter(next);
      this.source = { node: nodes[0], reader: sourceReader, counter };
      this.head = counter;
    } else {
      this.head = next;
    }
  }

  private runtimeFor(node: StreamNode): OperatorRuntime {
    const s = this.plan.settings;
    const p = this.vertex.parallelism;
    let keyedStore: HeapKeyedStore | undefined;
    if (node.keySelector && node.kind !== 'sink') {
      const r = keyGroupRange(this.spec.subtask, s.maxParallelism, p);
      keyedStore = new HeapKeyedStore(r.start, r.end);
    }
    return {
      ...connectorContext(this.spec, node, p),
      node,
      displayName: displayName(node),
      maxParallelism: s.maxParallelism,
      keyedStore,
      operatorState: new OperatorStateStore(),
    };
  }

  /** Loads the job, plans it, checks the plan matches the main thread's, builds the task. */
  static async create(spec: TaskSpec): Promise<StreamTask> {
    const def = await loadJob(spec.jobPath);
    const plan = planJob(def, spec.args, spec.settings);
    if (plan.fingerprint !== spec.fingerprint) {
      throw new EddyError(
        'JOB_INVALID',
        "the job module built a different graph in a worker than in the main thread; its build function must not depend on time, randomness or the thread",
      );
    }
    const vertex = plan.jobGraph.vertices[spec.vertex];
    const p = vertex.parallelism;
    // Readers and writers may be async to create; make them before the synchronous chain build.
    let reader: SourceReader<unknown> | undefined;
    const first = vertex.nodes[0];
    if (first.kind === 'source') {
      try {
        reader = await first.source!.createReader(connectorContext(spec, first, p));
      } catch (err) {
        throw operatorFailure(err, 'SOURCE_FAILED', 'source failed to start', displayName(first), spec.subtask);
      }
    }
    const writers = new Map<number, SinkWriter<unknown>>();
    for (const n of vertex.nodes) {
      if (n.kind !== 'sink') continue;
      try {
        writers.set(n.id, await n.sink!.createWriter(connectorContext(spec, n, p)));
      } catch (err) {
        throw operatorFailure(err, 'SINK_FAILED', 'sink failed to start', displayName(n), spec.subtask);
      }
    }
    return new StreamTask(spec, plan, reader, writers);
  }

  get cancelled(): boolean {
    return Atomics.load(this.control, CONTROL_CANCEL) !== 0;
  }

  /** Copies operator counters into the shared metrics block (read by the main thread). */
  publishMetrics(): void {
    const m = this.metrics;
    const slots = this.spec.metricsSlots;
    let k = 0;
    if (this.source) {
      const at = slots[0] * METRICS_PER_SLOT;
      m[at + METRIC_RECORDS_OUT] = this.source.counter.recordsOut;
      k = 1;
    }
    for (let i = 0; i < this.operators.length; i++, k++) {
      const at = slots[k] * METRICS_PER_SLOT;
      m[at + METRIC_RECORDS_IN] = this.operators[i].recordsIn;
      m[at + METRIC_RECORDS_OUT] = this.operators[i].recordsOut;
    }
  }
}

export function connectorContext(spec: TaskSpec, node: StreamNode, parallelism: number): ConnectorContext {
  const operatorUid = displayName(node);
  return {
    subtaskIndex: spec.subtask,
    parallelism,
    operatorUid,
    attempt: spec.attempt,
    report(kind: string, payload: unknown) {
      spec.port.postMessage({ type: 'report', operatorUid, kind, payload });
    },
  };
}
