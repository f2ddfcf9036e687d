/**
 * One task built from its spec: the job plan rebuilt from the job module with the main thread's
 * build notes (and checked against the main thread's plan), the node runtimes (node-runtime.ts: every operator's state stores, kept
 * per node so snapshots and restores can reach them, and its connector), the operator chain
 * (chain-builder.ts), the output and the input gate; and what the task publishes to the main
 * thread (counters, watermarks, state entries, queryable state).
 */
import type { Collector } from '../core/contract/functions.js';
import { Gate } from '../core/channel/gate.js';
import { EddyError, messageOf } from '../core/failure.js';
import type { JobVertex } from '../core/graph/job-graph.js';
import { displayName } from '../core/graph/stream-graph.js';
import type { ChainOperator, TwoInputOperator } from '../core/operators/operator.js';
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
import { keyGroupFor } from '../core/state/key-groups.js';
import { TaskTime } from '../core/time/task-time.js';
import { buildChain, type Chain } from './chain-builder.js';
import { answerQueries, send } from './control-port.js';
import { createNodeRuntimes, type NodeRuntime } from './node-runtime.js';
import { InputGate } from './input-gate.js';
import { TaskOutput } from './output.js';

/** Counting state entries walks every key group's map: twice a second is plenty for a gauge. */
const STATE_COUNT_INTERVAL_MS = 500;

export class StreamTask {
  readonly vertex: JobVertex;
  readonly gate: Gate;
  readonly output: TaskOutput | undefined;
  readonly input: InputGate | undefined;
  /** Chained operators after the source (if any), in the vertex's order (every one after its parent). */
  readonly operators: ChainOperator[] = [];
  readonly head: Collector<unknown>;
  /** Set when the head has two inputs: per input channel, the input (0 or 1) it feeds. */
  readonly inputSides: Uint8Array | undefined;
  readonly twoInputHead: TwoInputOperator | undefined;
  readonly nodes: NodeRuntime[];
  readonly source: Chain['source'];
  readonly name: string;
  /** Commands from the main thread (trigger, notify, abort), queued by the control port. */
  readonly commands: TaskCommand[] = [];
  readonly checkpointing: boolean;
  /** Record timestamps, watermarks and wake-ups of this task. */
  readonly time = new TaskTime();
  private readonly control: Int32Array;
  private readonly metrics: Float64Array;
  private readonly counters: Float64Array;
  /** Time parked with nothing to read, and time waiting for output space (their last ends date a wake-up). */
  readonly idleTime: TimeAccount;
  readonly backPressureTime: TimeAccount;
  /** When the task entered its loop (wall clock), 0 before: a trigger taken before then waited for the deployment. */
  runningAt = 0;
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
    this.idleTime = new TimeAccount(this.counters, TASK_IDLE_MS, TASK_IDLE_SINCE);
    this.backPressureTime = new TimeAccount(this.counters, TASK_BACKPRESSURED_MS, TASK_BACKPRESSURED_SINCE);
    this.gate = new Gate(spec.gate, this.idleTime);
    this.checkpointing = plan.settings.mode !== 'none';
    this.output = this.createOutput();
    const inputEdges = this.vertex.inputs.map((e) => e.id);
    const input = spec.inputs.length > 0 ? new InputGate(spec.inputs, (edge) => inputEdges.indexOf(edge), spec.gate) : undefined;
    this.input = input;
    this.inputSides =
      this.vertex.nodes[0].twoInput && input ? Uint8Array.from(input.edgeOf, (e) => this.vertex.inputs[e].inputSide ?? 0) : undefined;
    const chain = buildChain({
      spec,
      plan,
      vertex: this.vertex,
      nodes,
      time: this.time,
      output: this.output,
      checkpointing: this.checkpointing,
      wake: () => this.gate.ring(),
    });
    this.operators = chain.operators;
    this.head = chain.head;
    this.source = chain.source;
    this.twoInputHead = this.inputSides ? (chain.operators[0] as TwoInputOperator) : undefined;
    answerQueries(spec, (q) => this.answerQuery(q.requestId, q.uid, q.name, q.key));
  }

  /** The task's output channels, when its vertex has outgoing edges. */
  private createOutput(): TaskOutput | undefined {
    const { vertex, spec, plan } = this;
    if (vertex.outputs.length === 0) return undefined;
    const s = plan.settings;
    return new TaskOutput(vertex.outputs, spec.outputs, {
      batchSize: s.batchSize,
      maxParallelism: s.maxParallelism,
      subtask: spec.subtask,
      producerUid: (e) => displayName(plan.graph.nodes[e.fromNode]),
      consumerUid: (e) => displayName(plan.graph.nodes[e.toNode]),
      time: vertex.eventTime ? this.time : undefined,
      backPressure: this.backPressureTime,
      gate: spec.gate,
      publishCounts: () => this.publishCounts(),
    });
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
      reply({ found: false, error: messageOf(err) });
    }
  }

  /** Loads the job, plans it, checks the plan matches the main thread's, builds the task. */
  static async create(spec: TaskSpec): Promise<StreamTask> {
    const def = await loadJob(spec.jobModule);
    const plan = planJob(def, spec.args, spec.settings, spec.buildNotes);
    if (plan.fingerprint !== spec.fingerprint) {
      throw new EddyError(
        'JOB_INVALID',
        'the job module built a different graph in a worker than in the main thread; its build function must not depend on time, randomness or the thread',
      );
    }
    // A source's side outputs (dead letters) leave through the task output, built after its
    // reader (side-output edges are never chained).
    let task: StreamTask | undefined;
    const vertex = plan.jobGraph.vertices[spec.vertex];
    const sideOutput = (tagId: string) => task?.output?.viewOf(vertex.nodes[0].id)?.sideOutput(tagId);
    const nodes = await createNodeRuntimes(spec, vertex, plan.settings.maxParallelism, sideOutput);
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
