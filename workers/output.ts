/**
 * The task's output: partitions each record onto the channels of every outgoing edge, batches
 * records per channel, and writes batches and control frames into the rings.
 *
 * On a stream with event time every channel keeps the timestamps of its batch in a parallel
 * array (read from the task's clock as each record is collected) and sends `[records,
 * timestamps]` with RECORDS_FLAG_TIMESTAMPS; other streams send the records alone.
 *
 * The chain pushes records synchronously, so a full ring cannot block it mid-record: a frame
 * that does not fit goes to the channel's pending queue (in order, behind anything already
 * pending) and the run loop awaits `drain()` before it takes more input. That bounds memory
 * by what one input batch can produce, and is where backpressure reaches the task. A command
 * (a checkpoint trigger, a notify) interrupts the drain: between input frames the task's state
 * is consistent, so it may snapshot there, its barrier queued behind the pending frames.
 */
import type { Collector, KeySelector } from '../core/contract/functions.js';
import { BatchDecoder, BatchEncoder } from '../core/channel/codec.js';
import {
  FRAME_RECORDS,
  FRAME_WATERMARK,
  GATE_SEQ,
  RECORDS_FLAG_TIMESTAMPS,
  RING_POISONED,
  WATERMARK_FLAG_IDLE,
} from '../core/channel/layout.js';
import { RingProducer, type OwnedFrame } from '../core/channel/ring.js';
import type { TimeAccount } from '../core/channel/time-account.js';
import type { ChannelFrames } from '../core/checkpoint/channel-state.js';
import { EddyError } from '../core/failure.js';
import { nullKeyError } from '../core/operators/failures.js';
import type { JobEdge } from '../core/graph/job-graph.js';
import type { OutputEdgeSpec } from '../core/runtime/messages.js';
import { keyGroupFor, subtaskForKeyGroup } from '../core/state/key-groups.js';
import type { TaskTime } from '../core/time/task-time.js';
import type { BlockingDrain } from './waits.js';

interface PendingFrame {
  type: number;
  flags: number;
  payload?: Uint8Array;
  count: number;
  a: number;
  b: number;
  c: number;
  /** A record frame: the most bytes a frame could take when it was cut (see Channel.frameLimit). */
  cutFor?: number;
}

/**
 * Under buffer debloating a frame takes at most this share of the consumer's soft capacity, so
 * the ring holds two: one being read while the next is written.
 */
const FRAMES_PER_SOFT_CAPACITY = 2;

/** The longest single wait for ring space before the drain looks around again (ms). */
const DRAIN_WAIT_MS = 1000;

/** Who writes a channel (named in failures) and the batch size it sends by default. */
interface ChannelOwner {
  operatorUid: string;
  subtask: number;
  batchSize: number;
  /** Publishes the task's record counters; called before a batch is sent (see OutputSettings.publishCounts). */
  publishCounts?: () => void;
}

export class Channel {
  readonly batch: unknown[] = [];
  /**
   * Records the open batch takes before it is sent: the batch size, or under buffer debloating
   * as many as fit the share of the consumer's soft capacity at the last frame's bytes per
   * record (batches flushed by bytes, re-estimated at every flush; none per record).
   */
  batchLimit: number;
  /** Event timestamps of `batch`, index by index; only on a stream with event time. */
  readonly timestamps: number[] | undefined;
  /** performance.now() when the current batch got its first record. */
  batchStartedAt = 0;
  /** Bytes per record of the last batch sent (0 before the first): sizes batches by bytes. */
  private bytesPerRecord = 0;
  private readonly pending: PendingFrame[] = [];
  /** Decodes a pending frame that must be cut again (see recutHead); made on first use. */
  private decoder: BatchDecoder | undefined;

  constructor(
    readonly producer: RingProducer,
    private readonly encoder: BatchEncoder,
    private readonly where: ChannelOwner,
    eventTime: boolean,
    /** The producing task's own gate, where a drain waits (see RingProducer.waitForSpaceOrWake). */
    private readonly taskGate: Int32Array,
    /** The edge and consumer subtask, which name this channel's in-flight data. */
    readonly edge = 0,
    readonly consumer = 0,
    /** Accounts the time spent waiting for ring space (the task's back-pressured time). */
    private readonly backPressure?: TimeAccount,
  ) {
    this.timestamps = eventTime ? [] : undefined;
    // Under buffer debloating the first batch is one record: the ring's starting soft capacity
    // is small, and from then on batches are sized by the bytes a record was seen to take.
    this.batchLimit = producer.softCapacity > 0 ? 1 : where.batchSize;
  }

  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** Encodes and sends the current batch (splitting it if it is larger than a frame). */
  flush(): void {
    const b = this.batch;
    if (b.length === 0) return;
    this.where.publishCounts?.();
    const bytes = this.cut(b, this.timestamps, 0, b.length, this.frameLimit(), this.send);
    this.bytesPerRecord = bytes / b.length;
    this.fitBatch();
    b.length = 0;
    if (this.timestamps !== undefined) this.timestamps.length = 0;
  }

  /**
   * The most bytes a record frame may take: a ring frame, and under buffer debloating the
   * consumer's soft capacity. Batches are sized for half of it (fitBatch), so only a batch
   * gathered before the capacity fell is cut here: whole, it would sit alone in the emptied
   * ring, in front of the next barrier, for longer than the target.
   */
  private frameLimit(): number {
    const soft = this.producer.softCapacity;
    const max = this.producer.maxPayload;
    return soft === 0 || soft >= max ? max : soft;
  }

  /** A record frame: into the ring if nothing waits before it and it fits, else pending (a copy). */
  private readonly send = (flags: number, bytes: Uint8Array, limit: number): void => {
    if (this.pending.length === 0 && this.producer.tryWrite(FRAME_RECORDS, flags, bytes)) return;
    // The encoder's bytes stay valid (codec.ts), so a frame that has to wait keeps them as they are.
    this.pending.push({ type: FRAME_RECORDS, flags, payload: bytes, count: 0, a: 0, b: 0, c: 0, cutFor: limit });
  };

  /** Sets batchLimit from the consumer's soft capacity (if any) and the bytes a record took last. */
  private fitBatch(): void {
    const soft = this.producer.softCapacity;
    const most = this.where.batchSize;
    if (soft === 0) {
      this.batchLimit = most;
      return;
    }
    if (this.bytesPerRecord === 0) return; // nothing sent yet: the first batch stays one record
    const n = Math.floor(soft / FRAMES_PER_SOFT_CAPACITY / this.bytesPerRecord);
    this.batchLimit = n < 1 ? 1 : n > most ? most : n;
  }

  /**
   * batchLimit for the consumer's soft capacity as it is now (it may have fallen since the last
   * flush): a source sizes its next poll by it (see TaskOutput.pollSize), once per poll.
   */
  refit(): number {
    this.fitBatch();
    return this.batchLimit;
  }

  /**
   * Encodes records [from, to) (with their timestamps `ts`, if any) as one frame or more, each
   * at most `limit` bytes unless it is a single record, into `out`; returns the bytes they took.
   */
  private cut(
    records: unknown[],
    ts: number[] | undefined,
    from: number,
    to: number,
    limit: number,
    out: (flags: number, bytes: Uint8Array, limit: number) => void,
  ): number {
    const whole = from === 0 && to === records.length;
    const slice = whole ? records : records.slice(from, to);
    const flags = ts === undefined ? 0 : RECORDS_FLAG_TIMESTAMPS;
    const bytes = this.encoder.encode(ts === undefined ? slice : [slice, whole ? ts : ts.slice(from, to)]);
    if (bytes.length > limit && to - from > 1) {
      const mid = (from + to) >>> 1;
      return this.cut(records, ts, from, mid, limit, out) + this.cut(records, ts, mid, to, limit, out);
    }
    if (bytes.length > this.producer.maxPayload) {
      throw new EddyError(
        'RECORD_TOO_LARGE',
        `a record of ${bytes.length} bytes from '${this.where.operatorUid}' is larger than a ring frame (${this.producer.maxPayload} bytes); raise --ring-capacity`,
        { operatorUid: this.where.operatorUid, subtask: this.where.subtask },
      );
    }
    out(flags, bytes, limit);
    return bytes.length;
  }

  /**
   * Buffer debloating: the first pending frame was cut for a soft capacity that has fallen
   * since and is too large for the new one. Cut it again (decoded and re-encoded: rare, only
   * after a fall): written whole, it would be the ring's only frame for longer than the target,
   * in front of any barrier queued behind it. True if it was replaced.
   */
  private recutHead(): boolean {
    const f = this.pending[0];
    const limit = this.frameLimit();
    if (f.cutFor === undefined || f.cutFor <= limit || f.payload!.length <= limit) return false;
    this.decoder ??= new BatchDecoder();
    const decoded = this.decoder.decode(f.payload!);
    const timed = (f.flags & RECORDS_FLAG_TIMESTAMPS) !== 0;
    const records = (timed ? decoded[0] : decoded) as unknown[];
    const frames: PendingFrame[] = [];
    this.cut(records, timed ? (decoded[1] as number[]) : undefined, 0, records.length, limit, (flags, bytes) =>
      frames.push({ type: FRAME_RECORDS, flags, payload: bytes, count: 0, a: 0, b: 0, c: 0, cutFor: limit }),
    );
    this.pending.splice(0, 1, ...frames);
    return true;
  }

  /** A control frame (barrier, watermark, end-of-stream); records batched before it go first. */
  sendControl(type: number, flags: number, count: number, a = 0, b = 0, c = 0): void {
    this.flush();
    if (this.pending.length === 0 && this.producer.tryWriteNumbers(type, flags, count, a, b, c)) return;
    this.pending.push({ type, flags, count, a, b, c });
  }

  /**
   * Writes pending frames until none is left, waiting for space as needed; returns false,
   * with frames still pending, as soon as `interrupted()` holds (checked before every wait and
   * after every wake-up: the wait is on the task's gate, which commands and priority events
   * ring, so the loop gets back at once). `waitMs` bounds each wait (a source's armed trigger
   * falling due ends it).
   */
  async drain(
    isCancelled: () => boolean,
    interrupted: () => boolean,
    waitMs: (ms: number) => number,
    blocking?: BlockingDrain,
  ): Promise<boolean> {
    while (this.pending.length > 0) {
      if (this.pending[0].cutFor !== undefined && this.recutHead()) continue;
      const f = this.pending[0];
      const ok = f.payload
        ? this.producer.tryWrite(f.type, f.flags, f.payload)
        : this.producer.tryWriteNumbers(f.type, f.flags, f.count, f.a, f.b, f.c);
      if (ok) {
        this.pending.shift();
        continue;
      }
      if (this.producer.state === RING_POISONED || isCancelled()) throw new EddyError('CANCELLED', 'the downstream channel was closed');
      if (blocking?.turnDue() === true) {
        await blocking.turn();
        continue;
      }
      // The gate's sequence before the last check: a command rung in after the check still ends
      // the wait at once. Read after the check, that ring was lost, and the source slept on until
      // its consumer freed space (a trigger late by one frame's worth of the consumer's work).
      const seq = Atomics.load(this.taskGate, GATE_SEQ);
      if (interrupted()) return false;
      this.backPressure?.begin();
      const bytes = f.payload ? f.payload.length : f.count * 8;
      const w =
        blocking !== undefined
          ? blocking.wait(this.producer, bytes, this.taskGate, seq, waitMs(DRAIN_WAIT_MS))
          : this.producer.waitForSpaceOrWake(bytes, this.taskGate, seq, waitMs(DRAIN_WAIT_MS));
      if (w !== undefined) await w;
      this.backPressure?.end();
      // Woken by a command (a trigger) or a barrier as the consumer also freed space: serve
      // it now, not after writing on and polling another batch.
      if (interrupted()) return false;
    }
    return true;
  }

  /**
   * An unaligned barrier overtakes this channel: the open batch is flushed, the data frames
   * not yet in the ring become the output state (they are still sent, behind the cut), and
   * the barrier goes into the ring's priority mailbox with the cut at the write position.
   */
  overtake(id: number, timestamp: number, flags: number): OwnedFrame[] {
    this.flush();
    const frames: OwnedFrame[] = [];
    for (const f of this.pending) {
      if (f.type === FRAME_RECORDS) frames.push({ type: f.type, flags: f.flags, payload: f.payload! });
      else if (f.type === FRAME_WATERMARK)
        frames.push({ type: f.type, flags: f.flags, payload: new Uint8Array(new Float64Array([f.a]).buffer) });
    }
    this.producer.publishPriority(id, timestamp, flags, this.producer.position);
    return frames;
  }

  /** Restored output state goes out before anything new (it precedes it in the stream). */
  restorePending(frames: OwnedFrame[]): void {
    const restored: PendingFrame[] = frames.map((f) =>
      f.type === FRAME_WATERMARK
        ? {
            type: f.type,
            flags: f.flags,
            count: 1,
            a: new Float64Array(f.payload.buffer.slice(f.payload.byteOffset, f.payload.byteOffset + 8))[0],
            b: 0,
            c: 0,
          }
        : { type: f.type, flags: f.flags, payload: f.payload, count: 0, a: 0, b: 0, c: 0 },
    );
    this.pending.unshift(...restored);
  }
}

const never = () => false;
const asIs = (ms: number) => ms;

/** The consumer subtask behind ring j of an edge: j, except on a forward edge (the same subtask). */
function consumerSubtask(e: JobEdge, s: OutputSettings, spec: OutputEdgeSpec, j: number): number {
  return e.partitioner === 'forward' && spec.rings.length === 1 ? s.subtask : j;
}

/** Sends each record of one outgoing edge to the channel(s) its partitioner picks. */
abstract class EdgeWriter implements Collector<unknown> {
  /** Set when the stream carries event time: the timestamp of the record being collected. */
  time: TaskTime | undefined;
  constructor(readonly channels: Channel[]) {}
  abstract collect(value: unknown): void;

  /** How many records fill one batch on every channel, the way this edge spreads them. */
  recordsToFill(): number {
    let n = 0;
    for (const c of this.channels) n += c.refit();
    return n;
  }

  protected add(ch: Channel, value: unknown): void {
    const b = ch.batch;
    if (b.length === 0) ch.batchStartedAt = performance.now();
    b.push(value);
    if (ch.timestamps !== undefined) ch.timestamps.push(this.time!.timestamp);
    if (b.length >= ch.batchLimit) ch.flush();
  }
}

class ForwardWriter extends EdgeWriter {
  collect(value: unknown): void {
    this.add(this.channels[0], value);
  }
}

class RebalanceWriter extends EdgeWriter {
  private next: number;
  constructor(channels: Channel[], subtask: number) {
    super(channels);
    // Start where this subtask's index points so parallel producers do not all hit channel 0.
    this.next = subtask % channels.length;
  }
  collect(value: unknown): void {
    this.add(this.channels[this.next], value);
    if (++this.next === this.channels.length) this.next = 0;
  }
}

class HashWriter extends EdgeWriter {
  constructor(
    channels: Channel[],
    private readonly selector: KeySelector<unknown, unknown>,
    private readonly maxParallelism: number,
    /** Where a record without a key is reported: the keyed operator and this subtask. */
    private readonly where: { keyedUid: string; operatorUid: string; subtask: number },
  ) {
    super(channels);
  }
  collect(value: unknown): void {
    const key = this.selector(value);
    // One comparison per record: the partitioner is the first to see every key of a keyBy.
    if (key == null) throw nullKeyError(key, value, this.where.keyedUid, this.where.operatorUid, this.where.subtask);
    const kg = keyGroupFor(key, this.maxParallelism);
    this.add(this.channels[subtaskForKeyGroup(kg, this.maxParallelism, this.channels.length)], value);
  }
}

class BroadcastWriter extends EdgeWriter {
  collect(value: unknown): void {
    for (const ch of this.channels) this.add(ch, value);
  }
  override recordsToFill(): number {
    let n = Infinity;
    for (const c of this.channels) {
      const k = c.refit();
      if (k < n) n = k;
    }
    return n;
  }
}

export interface OutputSettings {
  batchSize: number;
  maxParallelism: number;
  subtask: number;
  /** The uid (or generated name) of the operator an edge starts at, for failures that name it. */
  producerUid: (edge: JobEdge) => string;
  /** The uid (or generated name) of the operator an edge feeds, for failures that name it. */
  consumerUid: (edge: JobEdge) => string;
  /** The task's clock when its output records carry event timestamps. */
  time?: TaskTime;
  /** Accounts the time spent waiting for ring space (the task's back-pressured time). */
  backPressure?: TimeAccount;
  /** The task's own gate (a drain waits there). */
  gate: SharedArrayBuffer;
  /**
   * Publishes the task's record counters (read by the main thread), called before each batch
   * is sent: a record counted downstream was then counted here first, so a progress line never
   * shows a sink ahead of a source that has published 0 (the counters are otherwise published
   * on a timer of their own in each task).
   */
  publishCounts?: () => void;
}

/** The writers of one side-output tag (usually one edge). */
class SideOutput implements Collector<unknown> {
  constructor(private readonly writers: EdgeWriter[]) {}
  collect(value: unknown): void {
    for (const w of this.writers) w.collect(value);
  }
}

/**
 * The outgoing edges of a set of edges' producers, as one operator sees them: a record it
 * collects goes to its main-output edges, `sideOutput(tag)` to the edges of that tag, and a
 * watermark to every channel of its edges. A chain's operators each get the view of their own
 * edges (TaskOutput.viewOf), so in a chain that forks only that operator's consumers see it.
 */
export class OutputView implements Collector<unknown> {
  private readonly main: EdgeWriter[] = [];
  private readonly single: EdgeWriter | undefined;
  private readonly sides = new Map<string, EdgeWriter[]>();
  private readonly channels: Channel[] = [];

  constructor(edges: readonly { edge: JobEdge; writer: EdgeWriter }[]) {
    for (const { edge, writer } of edges) {
      this.channels.push(...writer.channels);
      if (edge.sideTag === undefined) this.main.push(writer);
      else {
        const list = this.sides.get(edge.sideTag) ?? [];
        list.push(writer);
        this.sides.set(edge.sideTag, list);
      }
    }
    this.single = this.main.length === 1 ? this.main[0] : undefined;
  }

  /** Whether records collected here go anywhere (an operator may have side-output edges only). */
  get hasMainOutput(): boolean {
    return this.main.length > 0;
  }

  collect(value: unknown): void {
    if (this.single !== undefined) this.single.collect(value);
    else for (const e of this.main) e.collect(value);
  }

  /** The collector of a side-output tag, or undefined if no edge consumes that tag. */
  sideOutput(tagId: string): Collector<unknown> | undefined {
    const w = this.sides.get(tagId);
    return w ? new SideOutput(w) : undefined;
  }

  /** A watermark (or, with idle, an idle status) to every consumer of these edges. */
  emitWatermark(watermark: number, idle: boolean): void {
    for (const ch of this.channels) ch.sendControl(FRAME_WATERMARK, idle ? WATERMARK_FLAG_IDLE : 0, 1, watermark);
  }

  /** Records a source should poll at once, at most `max` (see TaskOutput.pollSize). */
  pollSize(max: number): number {
    let n = max;
    for (const e of this.main) {
      const fill = e.recordsToFill();
      if (fill < n) n = fill;
    }
    return n;
  }
}

export class TaskOutput implements Collector<unknown> {
  readonly channels: Channel[] = [];
  /** Every edge of the task: what a task without a chain (and the tests) writes to. */
  private readonly all: OutputView;
  /** Per producing operator (stream node id): the view of its own edges. */
  private readonly views = new Map<number, OutputView>();

  constructor(edges: JobEdge[], specs: OutputEdgeSpec[], s: OutputSettings) {
    const encoder = new BatchEncoder();
    const gate = new Int32Array(s.gate);
    const owners = new Map<number, ChannelOwner>();
    const written: { edge: JobEdge; writer: EdgeWriter }[] = [];
    for (let i = 0; i < edges.length; i++) {
      const e = edges[i];
      const spec = specs[i];
      let where = owners.get(e.fromNode);
      if (where === undefined) {
        where = { operatorUid: s.producerUid(e), subtask: s.subtask, batchSize: s.batchSize, publishCounts: s.publishCounts };
        owners.set(e.fromNode, where);
      }
      const chans = spec.rings.map(
        (r, j) =>
          new Channel(
            new RingProducer(r, spec.gates[j]),
            encoder,
            where,
            s.time !== undefined,
            gate,
            e.id,
            consumerSubtask(e, s, spec, j),
            s.backPressure,
          ),
      );
      this.channels.push(...chans);
      let w: EdgeWriter;
      switch (e.partitioner) {
        case 'forward':
          w = new ForwardWriter(chans);
          break;
        case 'rebalance':
          w = new RebalanceWriter(chans, s.subtask);
          break;
        case 'hash':
          w = new HashWriter(chans, e.keySelector!, s.maxParallelism, {
            keyedUid: s.consumerUid(e),
            operatorUid: where.operatorUid,
            subtask: s.subtask,
          });
          break;
        case 'broadcast':
          w = new BroadcastWriter(chans);
          break;
      }
      w.time = s.time;
      written.push({ edge: e, writer: w });
    }
    this.all = new OutputView(written);
    for (const from of owners.keys()) {
      const own = written.filter((x) => x.edge.fromNode === from);
      this.views.set(from, own.length === written.length ? this.all : new OutputView(own));
    }
  }

  /** The view of the edges that start at stream node `nodeId`, or undefined if it has none. */
  viewOf(nodeId: number): OutputView | undefined {
    return this.views.get(nodeId);
  }

  collect(value: unknown): void {
    this.all.collect(value);
  }

  /** The collector of a side-output tag, or undefined if no edge consumes that tag. */
  sideOutput(tagId: string): Collector<unknown> | undefined {
    return this.all.sideOutput(tagId);
  }

  /** A watermark (or, with idle, an idle status) to every consumer. */
  emitWatermark(watermark: number, idle: boolean): void {
    this.all.emitWatermark(watermark, idle);
  }

  get hasPending(): boolean {
    for (const c of this.channels) if (c.hasPending) return true;
    return false;
  }

  /**
   * Records a source should poll at once, at most `max`: under buffer debloating about one
   * batch per channel, so what a poll leaves pending behind a full ring (and so in front of a
   * barrier) is bounded by the consumers' soft capacities too; `max` otherwise.
   */
  pollSize(max: number): number {
    return this.all.pollSize(max);
  }

  /**
   * Writes every pending frame (see Channel.drain). False when `interrupted()` cut it short:
   * the loop then serves what interrupted it and drains again before taking more input.
   */
  async drain(
    isCancelled: () => boolean,
    interrupted: () => boolean = never,
    waitMs: (ms: number) => number = asIs,
    blocking?: BlockingDrain,
  ): Promise<boolean> {
    for (const c of this.channels) if (c.hasPending && !(await c.drain(isCancelled, interrupted, waitMs, blocking))) return false;
    return true;
  }

  /** An unaligned barrier overtakes every channel; returns their output state (see Channel.overtake). */
  overtakeAll(id: number, timestamp: number, flags: number): ChannelFrames[] {
    return this.channels.map((c, channel) => ({ channel, edge: c.edge, peer: c.consumer, frames: c.overtake(id, timestamp, flags) }));
  }

  /**
   * Flushes batches older than the buffer timeout; returns the time (performance.now) when
   * the next one falls due, or Infinity if no batch is open.
   */
  flushDue(now: number, timeoutMs: number): number {
    let next = Infinity;
    for (const c of this.channels) {
      if (c.batch.length === 0) continue;
      const due = c.batchStartedAt + timeoutMs;
      if (due <= now) c.flush();
      else if (due < next) next = due;
    }
    return next;
  }

  flushAll(): void {
    for (const c of this.channels) c.flush();
  }

  /** A control frame on every channel (barriers and watermarks go to all consumers). */
  broadcastControl(type: number, flags: number, count: number, a = 0, b = 0, c = 0): void {
    for (const ch of this.channels) ch.sendControl(type, flags, count, a, b, c);
  }
}
