/**
 * The logical graph a job module builds: one node per operator the user wrote, one edge per
 * connection, with the partitioning the user asked for. Built identically on every thread
 * (every worker re-runs the job module), so node ids are assigned in creation order and
 * nothing here may depend on time, randomness or the thread.
 */
import type { KeySelector } from '../contract/functions.js';
import { DEFAULT_AUTO_WATERMARK_INTERVAL_MS, type WatermarkStrategy } from '../time/watermark-strategy.js';
import type { Sink, Source } from '../connectors/types.js';
import { EddyError } from '../failure.js';
import type { OperatorFactory } from '../operators/operator.js';

/** 'auto' becomes forward between equal parallelisms and rebalance otherwise (as in Flink). */
export type Partitioning = 'auto' | 'forward' | 'rebalance' | 'hash' | 'broadcast';

export interface StreamEdge {
  from: number;
  to: number;
  partitioning: Partitioning;
  keySelector?: KeySelector<unknown, unknown>;
  /** Set on an edge that carries only the records a node sends to this side-output tag. */
  sideTag?: string;
  /** Into a two-input node (connect): which of its inputs this edge feeds (0 or 1). */
  inputSide?: number;
}

export interface StreamNode {
  id: number;
  /** What the operator does: 'source', 'map', 'filter', 'flatMap', 'process', 'sink', ... */
  kind: string;
  name: string;
  uid?: string;
  /** Explicit parallelism (setParallelism); otherwise the job default. */
  parallelism?: number;
  /** Upper bound some operators impose (a non-parallel source says 1). */
  parallelismCap?: number;
  /** A connector or operator that keeps state in checkpoints needs a uid. */
  stateful: boolean;
  source?: Source<unknown>;
  sink?: Sink<unknown>;
  factory?: OperatorFactory;
  /** Set when the node consumes a keyed stream: the key of each input record. */
  keySelector?: KeySelector<unknown, unknown>;
  /** A source's watermark strategy (fromSource with a strategy). */
  watermarks?: WatermarkStrategy<unknown>;
  /** A timestamp assigner: from here on, records carry event timestamps. */
  assignsTimestamps?: boolean;
  /** A node with two logical inputs (connect, joins): its edges say which input they feed. */
  twoInput?: boolean;
  /**
   * The operator changes its input record in place (SQL's scan adding computed columns to a
   * generator's fresh record). Operators must otherwise leave their input alone: a record is
   * handed uncopied to every chained consumer of its producer (see job-graph.ts).
   */
  mutatesInput?: boolean;
  /** Key of the second input's records when a two-input node is keyed (the first is keySelector). */
  keySelector2?: KeySelector<unknown, unknown>;
  inputs: StreamEdge[];
  outputs: StreamEdge[];
}

/** uid when given, else kind and id, for messages and metrics. */
export function displayName(node: StreamNode): string {
  return node.uid ?? `${node.name}#${node.id}`;
}

export class StreamGraph {
  readonly nodes: StreamNode[] = [];
  /** How often timestamp assigners are asked for a periodic watermark (ms; 0 = never). */
  autoWatermarkIntervalMs = DEFAULT_AUTO_WATERMARK_INTERVAL_MS;

  addNode(init: Omit<StreamNode, 'id' | 'inputs' | 'outputs'>): StreamNode {
    const node: StreamNode = { ...init, id: this.nodes.length, inputs: [], outputs: [] };
    this.nodes.push(node);
    return node;
  }

  connect(
    from: number,
    to: number,
    partitioning: Partitioning,
    keySelector?: KeySelector<unknown, unknown>,
    sideTag?: string,
    inputSide?: number,
  ): void {
    const edge: StreamEdge = { from, to, partitioning, keySelector, sideTag, inputSide };
    this.nodes[from].outputs.push(edge);
    this.nodes[to].inputs.push(edge);
  }

  /**
   * Drops the nodes from id `length` on, and the edges into them. Only the newest nodes can go,
   * so no kept node changes its id (streams and edges name nodes by id): a planner that built a
   * sub-plan and then found one operator doing its work (SQL's join-back fusion) takes it out.
   */
  truncate(length: number): StreamNode[] {
    const gone = this.nodes.slice(length);
    for (const n of gone) {
      for (const e of n.inputs) {
        if (e.from >= length) continue;
        const outs = this.nodes[e.from].outputs;
        outs.splice(outs.indexOf(e), 1);
      }
    }
    this.nodes.length = length;
    return gone;
  }

  /**
   * Per node: do its output records carry event timestamps? True from a timestamp assigner
   * on (nodes are created after their inputs, so one pass in id order suffices).
   */
  eventTime(): boolean[] {
    const et: boolean[] = [];
    for (const n of this.nodes) et.push(n.assignsTimestamps === true || n.inputs.some((e) => et[e.from]));
    return et;
  }

  /** Checks that hold for any graph, whatever parallelism it is given. */
  validate(): void {
    if (this.nodes.length === 0) throw new EddyError('GRAPH_INVALID', 'the job defines no operators; add env.fromSource(...) and a sink');
    const uids = new Map<string, StreamNode>();
    let sinks = 0;
    for (const n of this.nodes) {
      if (n.uid !== undefined) {
        const other = uids.get(n.uid);
        if (other) {
          throw new EddyError(
            'UID_DUPLICATE',
            `uid '${n.uid}' is used by two operators (${other.name} and ${n.name}); every uid must be unique`,
          );
        }
        uids.set(n.uid, n);
      }
      if (n.stateful && n.uid === undefined) {
        throw new EddyError(
          'UID_REQUIRED',
          `${n.kind === 'source' ? 'source' : n.kind === 'sink' ? 'sink' : 'operator'} '${n.name}' keeps state in checkpoints but has no uid; add .uid('...') after it`,
          { operatorUid: displayName(n) },
        );
      }
      if (n.kind === 'sink') sinks++;
      if (n.kind !== 'sink' && n.outputs.length === 0) {
        throw new EddyError('GRAPH_INVALID', `the output of '${displayName(n)}' goes nowhere; end the stream with .sinkTo(...)`);
      }
    }
    if (sinks === 0) throw new EddyError('GRAPH_INVALID', 'the job has no sink; end the stream with .sinkTo(...)');
  }
}
