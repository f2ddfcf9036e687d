/**
 * Builds one task from its spec: rebuilds the job plan from the job module, instantiates the
 * chained operators of its vertex tail-first (each one's `next` is the operator after it,
 * the last one's is the task output), and the source reader or input gate in front. Every
 * operator's state stores are kept per node, so snapshots and restores can reach them.
 */
import { join } from 'node:path';
import type { Collector } from '../core/contract/functions.js';
import { Gate } from '../core/channel/gate.js';
import type { SinkWriter, SourceReader } from '../core/connectors/types.js';
import { EddyError } from '../core/failure.js';
import type { JobVertex } from '../core/graph/job-graph.js';
import { displayName, type StreamNode } from '../core/graph/stream-graph.js';
import { KeyContextOperator } from '../core/operators/keyed.js';
import { operatorFailure } from '../core/operators/failures.js';
import type { ChainOperator, OperatorRuntime, TwoInputOperator } from '../core/operators/operator.js';
import { timestampsOperator } from '../core/operators/timestamps.js';
import { SinkOperator } from '../core/operators/sink.js';
import { planJob, type JobPlan } from '../core/runtime/job-plan.js';
import { loadJob } from '../core/runtime/module-loader.js';
import type { TaskCommand, TaskSpec } from '../core/runtime/messages.js';
import { TimeAccount, readAccount, wallNow } from '../core/channel/time-account.js';
import { CONTROL_CANCEL } from '../core/runtime/control-block.js';
import {
  METRIC_RECORDS_IN,
  METRIC_RECORDS_OUT,
  METRIC_STATE_ENTRIES,
  METRICS_PER_SLOT,
  TASK_BACKPRESSURED_MS,
  TASK_BACKPRESSURED_SINCE,
  TASK_IDLE_MS,
  TASK_IDLE_SINCE,
  TASK_INPUT_WATERMARK,
  TASK_OUTPUT_WATERMARK,
} from '../core/observe/metrics-layout.js';
import { HeapKeyedStore } from '../core/state/heap/heap-keyed-store.js';
import type { KeyedBackend } from '../core/state/keyed-backend.js';
import { LmdbKeyedStore } from '../core/state/lmdb/lmdb-keyed-store.js';
import { keyGroupFor, keyGroupRange } from '../core/state/key-groups.js';
import { OperatorStateStore } from '../core/state/operator-state.js';
import { TaskTime } from '../core/time/task-time.js';
import { answerQueries, connectorContext, send } from './control-port.js';
import { SourceCounter } from './source-counter.js';
import { InputGate } from './input-gate.js';
import { TaskOutput } from './output.js';

/** Counting state entries walks every key group's map: twice a second is plenty for a gauge. */
const STATE_COUNT_INTERVAL_MS = 500;

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

/** One chained operator's state and connector, as snapshots and restores see it. */
export interface NodeRuntime {
  node: StreamNode;
  uid: string;
  keyed: KeyedBackend | undefined;
  operatorState: OperatorStateStore;
  reader?: SourceReader<unknown>;
  writer?: SinkWriter<unknown>;
}

export class StreamTask {
  readonly vertex: JobVertex;
  readonly gate: Gate;
  readonly output: TaskOutput | undefined;
  readonly input: InputGate | undefined;
  /** Chained operators after the source (if any), head first. */
  readonly operators: ChainOperator[] = [];
  readonly head: Collector<unknown>;
  /** Set when the head has two inputs: per input channel, the input (0 or 1) it feeds. */
  readonly inputSides: Uint8Array | undefined;
  readonly twoInputHead: TwoInputOperator | undefined;
  readonly nodes: NodeRuntime[];
  readonly source: { node: StreamNode; reader: SourceReader<unknown>; counter: SourceCounter } | undefined;
  readonly name: string;
  /** Commands from the main thread (trigger, notify, abort), queued by the control port. */
  readonly commands: TaskCommand[] = [];
  readonly checkpointing: boolean;
  /** Record timestamps, watermarks and wake-ups of this task. */
  readonly time = new TaskTime();
  private readonly control: Int32Array;
  private readonly metrics: Float64Array;
  private readonly counters: Float64Array;
  /** When state entries were last counted (performance.now): they are counted twice a second at most. */
  private stateCountedAt = -Infinity;

  private constructor(
    readonly spec: TaskSpec,
    readonly plan: JobPlan,
    nodes: NodeRuntime[],
  ) {
    this.vertex = plan.jobGraph.vertices[spec.vertex];
    this.nodes = nodes;
    this.name = `${this.vertex.name} (${spec.subtask + 1}/${this.vertex.parallelism})`;
    this.control = new Int32Array(spec.control);
    this.metrics = new Float64Array(spec.metrics);
    this.counters = new Float64Array(spec.counters);
    this.gate = new Gate(spec.gate, new TimeAccount(this.counters, TASK_IDLE_MS, TASK_IDLE_SINCE));
    const s = plan.settings;
    this.checkpointing = s.mode !== 'none';
    const vnodes = this.vertex.nodes;
    const tail = vnodes[vnodes.length - 1];
    this.output =
      this.vertex.outputs.length > 0
        ? new TaskOutput(this.vertex.outputs, spec.outputs, {
            batchSize: s.batchSize,
            maxParallelism: s.maxParallelism,
            subtask: spec.subtask,
            operatorUid: displayName(tail),
            consumerUid: (e) => displayName(plan.graph.nodes[e.toNode]),
            time: this.vertex.eventTime ? this.time : undefined,
            backPressure: new TimeAccount(this.counters, TASK_BACKPRESSURED_MS, TASK_BACKPRESSURED_SINCE),
            gate: spec.gate,
            publishCounts: () => this.publishCounts(),
          })
        : undefined;
    const inputEdges = this.vertex.inputs.map((e) => e.id);
    this.input = spec.inputs.length > 0 ? new InputGate(spec.inputs, (edge) => inputEdges.indexOf(edge), spec.gate) : undefined;
    const input = this.input;
    this.inputSides = vnodes[0].twoInput && input ? Uint8Array.from(input.edgeOf, (e) => this.vertex.inputs[e].inputSide ?? 0) : undefined;

    let next: Collector<unknown> = this.output ?? { collect() {} };
    const first = nodes[0].reader ? 1 : 0;
    const ops: ChainOperator[] = [];
    const runtime = (i: number): OperatorRuntime => {
      const n = nodes[i];
      return {
        ...connectorContext(spec, n.node, this.vertex.parallelism),
        uid: n.node.uid,
        displayName: n.uid,
        maxParallelism: s.maxParallelism,
        keyedStore: n.keyed,
        operatorState: n.operatorState,
        time: this.time,
        chainIndex: i - first,
        autoWatermarkIntervalMs: plan.graph.autoWatermarkIntervalMs,
        wake: () => this.gate.ring(),
        sideOutput: (tagId) => (i === nodes.length - 1 ? this.output?.sideOutput(tagId) : undefined),
      };
    };
    for (let i = nodes.length - 1; i >= first; i--) {
      const n = nodes[i];
      let op: ChainOperator;
      if (n.writer) {
        op = new SinkOperator(n.writer, { operatorUid: n.uid, subtask: spec.subtask, transactional: this.checkpointing });
      } else {
        op = n.node.factory!(runtime(i), next);
        // A two-input head sets the key itself: each input has its own key selector.
        if (n.node.keySelector && i === 0 && !n.node.twoInput) op = new KeyContextOperator(n.node.keySelector, n.keyed!, s.maxParallelism, op);
      }
      ops.unshift(op);
      next = op;
    }
    this.operators = ops;
    this.twoInputHead = this.inputSides ? (ops[0] as TwoInputOperator) : undefined;
    const out = this.output;
    this.time.attach(ops, out ? (wm, idle) => out.emitWatermark(wm, idle) : undefined);
    if (nodes[0].reader) {
      // A source with a watermark strategy: its subtask stamps records and makes watermarks
      // right behind the reader, before the chain (at position -1, like the task's inputs).
      const strategy = nodes[0].node.watermarks;
      if (strategy) {
        const assigner = timestampsOperator(strategy)(runtime(0), next);
        void assigner.open();
        next = assigner;
      }
      const counter = new SourceCounter(next, nodes[0].reader, nodes[0].uid);
      this.source = { node: nodes[0].node, reader: nodes[0].reader, counter };
      this.head = counter;
    } else {
      this.head = next;
    }
    answerQueries(spec, (q) => this.answerQuery(q.requestId, q.uid, q.name, q.key));
  }

  /** Queryable state: one key's value in one state of a keyed operator of this task. */
  private answerQuery(requestId: number, uid: string, name: string, key: unknown): void {
    const reply = (r: { found: boolean; value?: unknown; error?: string }) => send(this.spec, { type: 'state-value', requestId, ...r });
    const keyed = this.nodes.find((n) => n.uid === uid)?.keyed;
    if (keyed === undefined) return reply({ found: false, error: `operator '${uid}' has no keyed state` });
    const table = keyed.tableDescriptors().findIndex((t) => t.name === name);
    if (table < 0) return reply({ found: false, error: `operator '${uid}' has no state named '${name}' (yet)` });
    try {
      const value = keyed.peek(table, keyGroupFor(key, this.plan.settings.maxParallelism), key);
      reply(value === undefined ? { found: false } : { found: true, value });
    } catch (err) {
      reply({ found: false, error: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Loads the job, plans it, checks the plan matches the main thread's, builds the task. */
  static async create(spec: TaskSpec): Promise<StreamTask> {
    const def = await loadJob(spec.jobPath);
    const plan = planJob(def, spec.args, spec.settings);
    if (plan.fingerprint !== spec.fingerprint) {
      throw new EddyError(
        'JOB_INVALID',
        'the job module built a different graph in a worker than in the main thread; its build function must not depend on time, randomness or the thread',
      );
    }
    const vertex = plan.jobGraph.vertices[spec.vertex];
    const p = vertex.parallelism;
    const s = plan.settings;
    const nodes: NodeRuntime[] = [];
    // A source's side outputs (dead letters) leave through the task output, built later; a
    // source with a side output is the tail of its chain (it has two outputs).
    let task: StreamTask | undefined;
    const sideOutput = (tagId: string) => (task?.nodes.length === 1 ? task.output?.sideOutput(tagId) : undefined);
    // Readers and writers may be async to create: make them before the synchronous chain build.
    for (const node of vertex.nodes) {
      const uid = displayName(node);
      const rt: NodeRuntime = { node, uid, keyed: undefined, operatorState: new OperatorStateStore() };
      if (node.keySelector && node.kind !== 'sink') {
        const r = keyGroupRange(spec.subtask, s.maxParallelism, p);
        rt.keyed = createKeyedBackend(spec, uid, r, p);
      }
      try {
        if (node.kind === 'source') rt.reader = await node.source!.createReader({ ...connectorContext(spec, node, p), sideOutput });
        if (node.kind === 'sink') rt.writer = await node.sink!.createWriter(connectorContext(spec, node, p));
      } catch (err) {
        const sink = node.kind === 'sink';
        throw operatorFailure(err, sink ? 'SINK_FAILED' : 'SOURCE_FAILED', `${sink ? 'sink' : 'source'} failed to start`, uid, spec.subtask);
      }
      nodes.push(rt);
    }
    task = new StreamTask(spec, plan, nodes);
    return task;
  }

  get cancelled(): boolean {
    return Atomics.load(this.control, CONTROL_CANCEL) !== 0;
  }

  /** Accumulated ms this task has spent parked with nothing to read, the wait in progress included. */
  idleMs(): number {
    return readAccount(this.counters, TASK_IDLE_MS, TASK_IDLE_SINCE, wallNow());
  }

  /** Copies the records in and out of the chain's operators into shared memory (read by the main thread). */
  publishCounts(): void {
    const m = this.metrics;
    const slots = this.spec.metricsSlots;
    let k = 0;
    if (this.source) {
      m[slots[0] * METRICS_PER_SLOT + METRIC_RECORDS_OUT] = this.source.counter.recordsOut;
      k = 1;
    }
    for (let i = 0; i < this.operators.length; i++, k++) {
      const at = slots[k] * METRICS_PER_SLOT;
      m[at + METRIC_RECORDS_IN] = this.operators[i].recordsIn;
      m[at + METRIC_RECORDS_OUT] = this.operators[i].recordsOut;
    }
  }

  /** Copies operator counters and watermarks into shared memory (read by the main thread). */
  publishMetrics(): void {
    const m = this.metrics;
    const slots = this.spec.metricsSlots;
    const c = this.counters;
    c[TASK_INPUT_WATERMARK] = this.time.inputWatermark;
    c[TASK_OUTPUT_WATERMARK] = this.time.outputWatermark;
    const now = performance.now();
    if (now - this.stateCountedAt >= STATE_COUNT_INTERVAL_MS) {
      this.stateCountedAt = now;
      for (let k = 0; k < this.nodes.length; k++) {
        const keyed = this.nodes[k].keyed;
        if (keyed !== undefined) m[slots[k] * METRICS_PER_SLOT + METRIC_STATE_ENTRIES] = keyed.entryCount();
      }
    }
    this.publishCounts();
  }
}
