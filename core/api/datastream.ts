/**
 * DataStream, KeyedStream and the handles returned by each transformation. Every method
 * only records nodes and edges in the StreamGraph; nothing runs here.
 */
import type { Sink } from '../connectors/types.js';
import { EddyError } from '../failure.js';
import type { Partitioning, StreamGraph, StreamNode } from '../graph/stream-graph.js';
import { filterOperator, flatMapOperator, identityOperator, mapOperator, processOperator } from '../operators/basic.js';
import { timestampsOperator } from '../operators/timestamps.js';
import type { OperatorFactory } from '../operators/operator.js';
import type { WatermarkStrategy } from '../time/watermark-strategy.js';
import { WindowedStream } from './windowed-stream.js';
import { ALL_WINDOWS_KEY, AllWindowedStream } from './all-windowed-stream.js';
import { ConnectedStreams, IntervalJoin, JoinedStreams, type TwoInputAdder } from './connected-streams.js';
import { GlobalWindows, type WindowAssigner } from '../time/windows/assigners.js';
import { CountTrigger, PurgingTrigger } from '../time/windows/triggers.js';
import type {
  Collector,
  FilterFunction,
  FlatMapFunction,
  KeySelector,
  MapFunction,
  OutputTag,
  ProcessFunction,
  ReduceFunction,
} from '../contract/functions.js';

/** @internal Where a stream comes from and how it is partitioned, for operators with two inputs. */
export interface StreamEnd {
  heads: readonly number[];
  partitioning: Partitioning;
  keySelector?: KeySelector<unknown, unknown>;
}

/** The adder of two-input operators (connect, interval join) on `graph`. */
function twoInputAdder(graph: StreamGraph): TwoInputAdder {
  return <R>(kind: string, a: StreamEnd, b: StreamEnd, factory: OperatorFactory) => {
    const node = graph.addNode({
      kind,
      name: kind,
      stateful: false,
      factory,
      twoInput: true,
      keySelector: a.keySelector,
      keySelector2: b.keySelector,
    });
    for (const h of a.heads) graph.connect(h, node.id, a.partitioning, a.keySelector, undefined, 0);
    for (const h of b.heads) graph.connect(h, node.id, b.partitioning, b.keySelector, undefined, 1);
    return new SingleOutputStreamOperator<R>(graph, node);
  };
}

/** A stream of records of type T (Flink's `DataStream`): each method adds an operator fed by it. */
export class DataStream<T> {
  /** @internal */
  constructor(
    protected readonly graph: StreamGraph,
    /** The nodes whose output this stream is (several after union). */
    protected readonly heads: readonly number[],
    protected readonly partitioning: Partitioning = 'auto',
    protected readonly keySelector?: KeySelector<unknown, unknown>,
  ) {}

  /** @internal */
  static forNode<T>(graph: StreamGraph, id: number): SingleOutputStreamOperator<T> {
    return new SingleOutputStreamOperator<T>(graph, graph.nodes[id]);
  }

  /** @internal Adds an operator fed by this stream. */
  addOperator<R>(kind: string, factory: OperatorFactory, stateful = false): SingleOutputStreamOperator<R> {
    const node = this.graph.addNode({ kind, name: kind, stateful, factory, keySelector: this.keySelector });
    for (const h of this.heads) this.graph.connect(h, node.id, this.partitioning, this.keySelector);
    return new SingleOutputStreamOperator<R>(this.graph, node);
  }

  /** One result per record: `map((value, ctx) => result)`. */
  map<R>(fn: MapFunction<T, R>): SingleOutputStreamOperator<R> {
    return this.addOperator<R>('map', mapOperator(fn as MapFunction<unknown, unknown>));
  }

  /** Keeps the records for which `fn(value, ctx)` is true. */
  filter(fn: FilterFunction<T>): SingleOutputStreamOperator<T> {
    return this.addOperator<T>('filter', filterOperator(fn as FilterFunction<unknown>));
  }

  /** Any number of results per record: `flatMap((value, out, ctx) => out.collect(...))`. */
  flatMap<R>(fn: FlatMapFunction<T, R>): SingleOutputStreamOperator<R> {
    return this.addOperator<R>('flatMap', flatMapOperator(fn as FlatMapFunction<unknown, unknown>));
  }

  /**
   * The general operator (Flink's `ProcessFunction`; on a keyed stream `KeyedProcessFunction`,
   * with timers): a function `(value, ctx, out) => void` or an object with `processElement`,
   * `onTimer`, `open`, `close`, `initializeState`, `snapshotState`, `notifyCheckpointComplete`.
   */
  process<R>(fn: ProcessFunction<T, R>): SingleOutputStreamOperator<R> {
    return this.addOperator<R>('process', processOperator(fn as ProcessFunction<unknown, unknown>));
  }

  /**
   * Gives every record its event timestamp and derives watermarks by the strategy; upstream
   * watermarks stop here. Usually right after the source (or `env.fromSource(s, name, strategy)`).
   */
  assignTimestampsAndWatermarks(strategy: WatermarkStrategy<T>): SingleOutputStreamOperator<T> {
    if (typeof (strategy as { generator?: unknown })?.generator !== 'function') {
      throw new EddyError(
        'JOB_INVALID',
        'assignTimestampsAndWatermarks expects a WatermarkStrategy (e.g. WatermarkStrategy.forBoundedOutOfOrderness(ms))',
      );
    }
    const op = this.addOperator<T>('timestamps', timestampsOperator(strategy as WatermarkStrategy<unknown>));
    op.node.assignsTimestamps = true;
    return op;
  }

  /** Partitions by key: each key goes to one subtask (by key group) and gets keyed state. */
  keyBy<K>(selector: KeySelector<T, K>): KeyedStream<T, K> {
    if (typeof selector !== 'function') throw new EddyError('JOB_INVALID', 'keyBy expects a function (value) => key');
    return new KeyedStream<T, K>(this.graph, this.heads, selector as KeySelector<unknown, unknown>);
  }

  /**
   * @internal This stream as a keyed stream WITHOUT an exchange (Flink's
   * `DataStreamUtils.reinterpretAsKeyedStream`): the caller guarantees every record already sits
   * in the subtask that `keyBy(selector)` would send it to, at the same parallelism (e.g. rows an
   * upstream keyed operator emitted under the same key). The next operator gets keyed state
   * scoped by `selector` and chains onto this one. A record outside the subtask's key groups
   * would put state in the wrong place, so only the SQL planner uses it, where the key is proven.
   */
  reinterpretAsKeyedStream<K>(selector: KeySelector<T, K>): KeyedStream<T, K> {
    if (typeof selector !== 'function') throw new EddyError('JOB_INVALID', 'reinterpretAsKeyedStream expects a function (value) => key');
    return new KeyedStream<T, K>(this.graph, this.heads, selector as KeySelector<unknown, unknown>, 'forward');
  }

  /**
   * Windows over the whole stream, not per key (Flink's `windowAll`): one operator at
   * parallelism 1 sees every record. `.windowAll(TumblingEventTimeWindows.of(60_000)).process(...)`.
   */
  windowAll(assigner: WindowAssigner): AllWindowedStream<T> {
    const keyed = this.keyBy<number>(() => ALL_WINDOWS_KEY);
    return new AllWindowedStream<T>(new WindowedStream<T, number>(assigner, (kind, factory) => keyed.addOperator(kind, factory, true)));
  }

  /** Windows of `size` records over the whole stream (Flink's `countWindowAll`), at parallelism 1. */
  countWindowAll(size: number): AllWindowedStream<T> {
    return this.windowAll(GlobalWindows.create()).trigger(PurgingTrigger.of(CountTrigger.of(size)));
  }

  /** @internal */
  end(): StreamEnd {
    return { heads: this.heads, partitioning: this.partitioning, keySelector: this.keySelector };
  }

  /** Two streams into one operator (co-map, co-process; broadcast state with other.broadcast()). */
  connect<B>(other: DataStream<B>): ConnectedStreams<T, B> {
    return new ConnectedStreams<T, B>(twoInputAdder(this.graph), this.end(), other.end());
  }

  /** Window join: `a.join(b).where(k1).equalTo(k2).window(assigner).apply(fn)`. */
  join<B>(other: DataStream<B>): JoinedStreams<T, B> {
    return new JoinedStreams<T, B>(this, other);
  }

  /** Merges streams of the same type; the next operator reads all of them. */
  union(...others: DataStream<T>[]): DataStream<T> {
    const heads = [...this.heads];
    for (const o of others) heads.push(...o.heads);
    // A union of keyed streams is no longer keyed: key it again after the union.
    return new DataStream<T>(this.graph, heads, this.partitioning === 'hash' ? 'auto' : this.partitioning);
  }

  /** Round-robin to every subtask of the next operator. */
  rebalance(): DataStream<T> {
    return new DataStream<T>(this.graph, this.heads, 'rebalance');
  }

  /** Every record to every subtask of the next operator. */
  broadcast(): DataStream<T> {
    return new DataStream<T>(this.graph, this.heads, 'broadcast');
  }

  /** Subtask i to subtask i (equal parallelism required). */
  forward(): DataStream<T> {
    return new DataStream<T>(this.graph, this.heads, 'forward');
  }

  /** Writes the stream to a sink (see `Sinks`); give it a `.uid(...)` when the sink is transactional. */
  sinkTo(sink: Sink<T>): OperatorHandle {
    const node = this.graph.addNode({
      kind: 'sink',
      name: sink.kind,
      stateful: sink.stateful,
      sink: sink as Sink<unknown>,
      keySelector: this.keySelector,
    });
    for (const h of this.heads) this.graph.connect(h, node.id, this.partitioning, this.keySelector);
    return new OperatorHandle(this.graph, node);
  }
}

/** uid / name / setParallelism, shared by operators and sinks. */
export class OperatorHandle {
  /** @internal */
  constructor(
    protected readonly g: StreamGraph,
    protected readonly node: StreamNode,
  ) {}

  /** The stable id that matches this operator's state in checkpoints and savepoints. */
  uid(uid: string): this {
    if (typeof uid !== 'string' || uid.length === 0) throw new EddyError('JOB_INVALID', 'uid expects a non-empty string');
    this.node.uid = uid;
    return this;
  }

  /** A display name (in the summary and errors); state is matched by uid, not by name. */
  name(name: string): this {
    this.node.name = name;
    return this;
  }

  /** This operator's parallelism, instead of the job's default. */
  setParallelism(n: number): this {
    if (!Number.isInteger(n) || n < 1) throw new EddyError('JOB_INVALID', `setParallelism expects a positive integer, got ${n}`);
    this.node.parallelism = n;
    return this;
  }
}

/** The stream an operator produces, with its settings (uid, name, parallelism) and side outputs (Flink's `SingleOutputStreamOperator`). */
export class SingleOutputStreamOperator<T> extends DataStream<T> {
  private readonly handle: OperatorHandle;
  /** @internal */
  constructor(
    graph: StreamGraph,
    readonly node: StreamNode,
  ) {
    super(graph, [node.id]);
    this.handle = new OperatorHandle(graph, node);
  }

  /** The records this operator sent with `ctx.output(tag, v)` (or late data of a window). */
  getSideOutput<X>(tag: OutputTag<X>): SingleOutputStreamOperator<X> {
    if (typeof tag?.id !== 'string') throw new EddyError('JOB_INVALID', 'getSideOutput expects an OutputTag');
    const node = this.graph.addNode({ kind: 'sideOutput', name: `side:${tag.id}`, stateful: false, factory: identityOperator });
    this.graph.connect(this.node.id, node.id, 'auto', undefined, tag.id);
    return new SingleOutputStreamOperator<X>(this.graph, node);
  }
  /** The stable id that matches this operator's state in checkpoints and savepoints. */
  uid(uid: string): this {
    this.handle.uid(uid);
    return this;
  }
  /** A display name (in the summary and errors); state is matched by uid, not by name. */
  name(name: string): this {
    this.handle.name(name);
    return this;
  }
  /** This operator's parallelism, instead of the job's default. */
  setParallelism(n: number): this {
    this.handle.setParallelism(n);
    return this;
  }
}

/**
 * A stream partitioned by key (`stream.keyBy(fn)`, Flink's `KeyedStream`): operators on it get
 * keyed state and timers scoped to each record's key, and windows.
 */
export class KeyedStream<T, K> extends DataStream<T> {
  /** @internal */
  constructor(
    graph: StreamGraph,
    heads: readonly number[],
    selector: KeySelector<unknown, unknown>,
    partitioning: 'hash' | 'forward' = 'hash',
  ) {
    super(graph, heads, partitioning, selector);
  }

  /** Rolling reduce per key: emits the new reduced value for every record. */
  reduce(fn: ReduceFunction<T>): SingleOutputStreamOperator<T> {
    return this.process<T>((value: T, ctx, out: Collector<T>) => {
      const s = ctx.state.value<T>('reduce');
      const cur = s.value();
      const next = cur === undefined ? value : fn(cur, value);
      s.update(next);
      out.collect(next);
    });
  }

  /** Interval join with another keyed stream: `.intervalJoin(other).between(lo, hi).process(fn)`. */
  intervalJoin<B>(other: KeyedStream<B, K>): IntervalJoin<T, B> {
    if (!(other instanceof KeyedStream)) throw new EddyError('JOB_INVALID', 'intervalJoin expects a keyed stream (other.keyBy(...))');
    return new IntervalJoin<T, B>(twoInputAdder(this.graph), this.end(), other.end());
  }

  /** Windows of each key: `.window(TumblingEventTimeWindows.of(60_000)).reduce(...)`. */
  window(assigner: WindowAssigner): WindowedStream<T, K> {
    return new WindowedStream<T, K>(assigner, (kind, factory) => this.addOperator(kind, factory, true));
  }

  /** Windows of `size` records per key (a global window with a purging count trigger). */
  countWindow(size: number): WindowedStream<T, K> {
    return this.window(GlobalWindows.create()).trigger(PurgingTrigger.of(CountTrigger.of(size)));
  }

  // A keyed stream's partitioning is fixed by its key; these would silently drop it.
  override rebalance(): never {
    throw new EddyError('JOB_INVALID', 'rebalance() on a keyed stream would break key partitioning; apply it before keyBy');
  }
  override broadcast(): never {
    throw new EddyError('JOB_INVALID', 'broadcast() on a keyed stream would break key partitioning; apply it before keyBy');
  }
  override forward(): never {
    throw new EddyError('JOB_INVALID', 'forward() on a keyed stream would break key partitioning; apply it before keyBy');
  }
}
