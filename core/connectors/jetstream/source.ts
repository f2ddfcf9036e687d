/**
 * `Sources.jetstream(...)`: the messages of a JetStream stream, replayable.
 *
 * Position: per subject filter the stream sequence of the last message emitted, kept in
 * checkpoints; a restore reads on with an ordered consumer (ephemeral, no acks, in order)
 * started at that sequence + 1, so the records after a restore are exactly those after the
 * checkpoint. Subject filters are split over the subtasks (filter i to subtask i %
 * parallelism); without filters one subtask reads the whole stream.
 *
 * Bounded (default): reads up to the stream's last sequence when the job first started; that
 * sequence is kept in the checkpoint, so a restored run stops at the same message. Continuous:
 * reads on as messages arrive.
 *
 * Reading is one fetch at a time in the background into a buffer of at most `batchSize`
 * messages, so poll never waits on the server (checkpoint barriers are not held up).
 * Retention (max_age, max_msgs, work-queue or interest policies) can delete messages a restore
 * needs: a restored reader checks that the stream still starts at or before its next sequence.
 */
import type { Consumer, JsMsg } from '@nats-io/jetstream';
import { jetstreamLib } from './lib.js';
import type { Collector } from '../../contract/functions.js';
import { EddyError, messageOf } from '../../failure.js';
import type { ConnectorContext, PollStatus, Source, SourceReader } from '../types.js';
import { checkNatsUrl, closeNats, connectNats, isStreamNotFound, type NatsConnection } from './connection.js';

/** One JetStream message as `Sources.jetstream` emits it. */
export interface JetStreamMessage<D = string> {
  /** The subject the message was published on. */
  subject: string;
  /** Stream sequence. */
  seq: number;
  /** The payload, decoded per the `decode` option: text (default), parsed JSON or raw bytes. */
  data: D;
}

/** Options of `Sources.jetstream`. */
export interface JetStreamSourceOptions {
  /** NATS URL, e.g. nats://127.0.0.1:4222. */
  url: string;
  /** Name of the JetStream stream. */
  stream: string;
  /** Subject filters, split over the subtasks. Default: the whole stream, read by one subtask. */
  subjects?: string[];
  /** Stop at the stream's last sequence at the first start (default true), or read on. */
  bounded?: boolean;
  /** Messages per fetch. Default 500. */
  batchSize?: number;
  /** How `data` is given: 'string' (UTF-8, default), 'json' (parsed) or 'bytes'. */
  decode?: 'string' | 'json' | 'bytes';
}

/** A `Sources.jetstream` reader's position for one subject filter. */
export interface JetStreamPosition {
  /** Stream sequence of the last message emitted, 0 before the first. */
  last: number;
  /** Bounded: the last sequence to read (fixed at the first start). */
  end?: number;
}

/** What a `Sources.jetstream` reader keeps in a checkpoint. */
export interface JetStreamSourceState {
  filters: Record<string, JetStreamPosition>;
}

/** The key of the whole stream among the filters. */
const ALL = '>';
const FETCH_EXPIRES_MS = 1000;

/**
 * `Sources.jetstream`: the messages of a JetStream stream, replayed from the checkpointed
 * stream sequence with an ordered consumer; bounded to the last sequence at the first start
 * (default) or continuous.
 */
export function jetstreamSource(opts: JetStreamSourceOptions): Source<JetStreamMessage<unknown>> {
  const what = `jetstream('${opts.stream}')`;
  if (typeof opts.stream !== 'string' || opts.stream === '')
    throw new EddyError('JOB_INVALID', 'jetstream: stream must be the name of a JetStream stream');
  const filters = opts.subjects && opts.subjects.length > 0 ? opts.subjects : [ALL];
  const bounded = opts.bounded ?? true;
  const batchSize = opts.batchSize ?? 500;
  if (!(Number.isSafeInteger(batchSize) && batchSize > 0))
    throw new EddyError('JOB_INVALID', `${what}: batchSize must be a positive integer, got ${batchSize}`);
  const decode = opts.decode ?? 'string';
  return {
    kind: 'jetstream',
    stateful: true,
    bounded,
    async validate() {
      checkNatsUrl(opts.url, what);
      const nc = await connectNats(opts.url, what, 'SOURCE_FAILED');
      try {
        await streamInfo(nc, opts.stream, what);
      } finally {
        await closeNats(nc);
      }
    },
    createReader(ctx: ConnectorContext): SourceReader<JetStreamMessage<unknown>> {
      const mine = filters.filter((_, i) => i % ctx.parallelism === ctx.subtaskIndex);
      return new JetStreamReader(what, opts.url, opts.stream, mine, bounded, batchSize, decode);
    },
  };
}

async function streamInfo(nc: NatsConnection, stream: string, what: string) {
  const jsm = await jetstreamLib().jetstreamManager(nc);
  try {
    return await jsm.streams.info(stream);
  } catch (err) {
    if (isStreamNotFound(err))
      throw new EddyError(
        'INPUT_NOT_FOUND',
        `${what}: JetStream stream '${stream}' does not exist; check the name (or create it, e.g. nats stream add ${stream})`,
      );
    throw new EddyError('SOURCE_FAILED', `${what}: cannot read the stream's info: ${messageOf(err)}`, { cause: messageOf(err) });
  }
}

interface FilterCursor {
  filter: string;
  pos: JetStreamPosition;
  done: boolean;
  consumer?: Consumer;
  /** Fetched, not yet emitted. */
  buffer: JsMsg[];
  fetching?: Promise<void>;
  /** The pull in flight: stopped on close, which would otherwise wait out its expiry at the head. */
  pull?: { stop(): void };
}

class JetStreamReader implements SourceReader<JetStreamMessage<unknown>> {
  readonly idleMs = 10;
  private nc: NatsConnection | undefined;
  private cursors: FilterCursor[] = [];
  private restored: Record<string, JetStreamPosition> | undefined;
  /** A background fetch failed: thrown from the next poll. */
  private failure: EddyError | undefined;
  private closing = false;

  constructor(
    private readonly what: string,
    private readonly url: string,
    private readonly stream: string,
    private readonly filters: string[],
    private readonly bounded: boolean,
    private readonly batchSize: number,
    private readonly decode: 'string' | 'json' | 'bytes',
  ) {}

  restoreState(state: unknown): void {
    const states = (Array.isArray(state) ? state : [state]).filter((s) => s != null);
    const merged: Record<string, JetStreamPosition> = {};
    for (const s of states) {
      if (typeof s !== 'object' || typeof (s as JetStreamSourceState).filters !== 'object') {
        throw new EddyError('STATE_FAILED', `${this.what}: restored source state is malformed: ${JSON.stringify(s)?.slice(0, 200)}`);
      }
      Object.assign(merged, (s as JetStreamSourceState).filters);
    }
    this.restored = merged;
  }

  async open(): Promise<void> {
    if (this.filters.length === 0) return;
    const nc = (this.nc = await connectNats(this.url, this.what, 'SOURCE_FAILED'));
    const info = await streamInfo(nc, this.stream, this.what);
    for (const filter of this.filters) {
      const restored = this.restored?.[filter];
      const pos: JetStreamPosition = restored ? { ...restored } : { last: 0 };
      if (!restored && this.bounded) pos.end = info.state.last_seq;
      // Messages after the position must still be in the stream (retention may have dropped them).
      if (restored && info.state.messages > 0 && info.state.first_seq > pos.last + 1) {
        throw new EddyError(
          'SOURCE_FAILED',
          `${this.what}: the stream now starts at sequence ${info.state.first_seq}, after the checkpointed position ${pos.last}; messages in between were removed (retention) and cannot be replayed`,
        );
      }
      this.cursors.push({ filter, pos, done: false, buffer: [] });
    }
  }

  snapshotState(): JetStreamSourceState {
    const filters: Record<string, JetStreamPosition> = {};
    for (const c of this.cursors) filters[c.filter] = { ...c.pos };
    if (this.restored) for (const f of this.filters) if (!(f in filters) && this.restored[f]) filters[f] = { ...this.restored[f] };
    return { filters };
  }

  poll(out: Collector<JetStreamMessage<unknown>>, max: number): PollStatus {
    if (this.failure) throw this.failure;
    let n = 0;
    for (const c of this.cursors) {
      while (n < max && c.buffer.length > 0) {
        const m = c.buffer.shift()!;
        if (c.pos.end !== undefined && m.seq > c.pos.end) {
          c.buffer.length = 0;
          c.done = true;
          break;
        }
        out.collect({ subject: m.subject, seq: m.seq, data: this.decoded(m) });
        c.pos.last = m.seq;
        n++;
      }
      if (c.pos.end !== undefined && c.pos.last >= c.pos.end) c.done = true;
      if (!c.done && c.buffer.length === 0 && !c.fetching) c.fetching = this.fetch(c);
    }
    if (n > 0) return 'more';
    return this.cursors.every((c) => c.done) && this.bounded ? 'end' : 'idle';
  }

  private decoded(m: JsMsg): unknown {
    if (this.decode === 'bytes') return m.data;
    if (this.decode === 'string') return m.string();
    try {
      return m.json();
    } catch (err) {
      throw new EddyError('MALFORMED_RECORD', `${this.what}: message ${m.seq} on '${m.subject}' is not JSON: ${messageOf(err)}`);
    }
  }

  /** One fetch in the background, from the message after the position; ends early at the head. */
  private async fetch(c: FilterCursor): Promise<void> {
    try {
      if (!c.consumer) {
        const js = jetstreamLib().jetstream(this.nc!);
        c.consumer = await js.consumers.get(this.stream, {
          deliver_policy: jetstreamLib().DeliverPolicy.StartSequence,
          opt_start_seq: c.pos.last + 1,
          ...(c.filter === ALL ? {} : { filter_subjects: [c.filter] }),
        });
      }
      const it = await c.consumer.fetch({ max_messages: this.batchSize, expires: FETCH_EXPIRES_MS });
      c.pull = it;
      if (this.closing) it.stop();
      let got = 0;
      for await (const m of it) {
        c.buffer.push(m);
        got++;
        // Nothing more to wait for: at the head, or past the end of a bounded read.
        if (m.info.pending === 0 || (c.pos.end !== undefined && m.seq >= c.pos.end)) {
          it.stop();
          break;
        }
      }
      // Bounded and nothing pending for this filter: every message up to the end was read.
      if (got === 0 && c.pos.end !== undefined) c.done = true;
    } catch (err) {
      this.failure = new EddyError('SOURCE_FAILED', `${this.what}: reading '${c.filter}' failed: ${messageOf(err)}`, {
        cause: messageOf(err),
      });
    } finally {
      c.fetching = undefined;
      c.pull = undefined;
    }
  }

  async close(): Promise<void> {
    const nc = this.nc;
    this.nc = undefined;
    // A reader at the head has a pull waiting up to FETCH_EXPIRES_MS for new messages: without
    // the stop, every close (a stop, a cancel, a restart after a failure) waited it out.
    this.closing = true;
    for (const c of this.cursors) c.pull?.stop();
    await Promise.allSettled(this.cursors.map((c) => c.fetching));
    await closeNats(nc);
  }
}
