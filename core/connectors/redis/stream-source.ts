/**
 * `Sources.redisStream(...)`: the entries of one or more Redis streams, replayable.
 *
 * Position: per stream the id of the last entry emitted, kept in checkpoints; a restore reads
 * on from the entry right after it (XRANGE with an exclusive start), so the records after a
 * restore are exactly those after the checkpoint. Streams are split over the subtasks (stream
 * i to subtask i % parallelism); each stream is read in id order by one subtask.
 *
 * Bounded (default): reads up to the last entry present when the job first started (as
 * Flink's setBounded); that id is kept in the checkpoint, so a restored run stops at the same
 * entry even if the stream grew since. Continuous: polls for new entries without end.
 *
 * Consumer group (option `group`): entries are read with XREADGROUP as consumer
 * `<consumer>-<subtask>` and acknowledged (XACK) only once the checkpoint that covers them
 * has completed (notifyCheckpointComplete), so the group's pending list holds exactly what a
 * restore might replay. After a restore the consumer's pending entries after the checkpointed
 * id are read again first, and those up to it (covered by the restored checkpoint, not yet
 * acknowledged when the job stopped) are acknowledged. The group's own cursor is never the
 * position: it cannot rewind. Bounded with a group: the last read may deliver entries past the
 * end to the consumer; they are not emitted and stay pending for it.
 *
 * Trimming (MAXLEN/MINID) can delete entries a restore needs: a restored reader checks that
 * the stream still holds the entry after its position and fails loudly otherwise.
 */
import type { Collector } from '../../contract/functions.js';
import { EddyError, messageOf } from '../../failure.js';
import type { ConnectorContext, PollStatus, Source, SourceReader } from '../types.js';
import { checkRedisUrl, closeRedis, connectRedis, type RedisClient } from './connection.js';

/** One Redis stream entry as `Sources.redisStream` emits it: its stream key, id and fields. */
export interface RedisStreamEntry {
  /** The stream's key. */
  stream: string;
  /** The entry id, "ms-seq" (milliseconds, sequence), as Redis assigned it. */
  id: string;
  /** The entry's field/value pairs, values as strings. */
  fields: Record<string, string>;
}

/** Options of `Sources.redisStream`. */
export interface RedisStreamSourceOptions {
  /** Redis URL, e.g. redis://127.0.0.1:6379. */
  url: string;
  /** The stream key, or several (split over the subtasks). */
  stream: string | string[];
  /** Stop at the last entry present at the first start (default true), or read on forever. */
  bounded?: boolean;
  /** Entries per read (COUNT). Default 1000. */
  batchSize?: number;
  /** Continuous mode: how long to wait before asking again when a read found nothing (ms). Default 50. */
  pollIntervalMs?: number;
  /** Read through a consumer group (created at the start of the stream if missing). */
  group?: { name: string; consumer?: string };
}

/** A `Sources.redisStream` reader's position in one stream. */
export interface RedisStreamPosition {
  /** Id of the last entry emitted, '0-0' before the first. */
  last: string;
  /** Bounded: the last id to read (fixed at the first start). */
  end?: string;
}

/** What a `Sources.redisStream` reader keeps in a checkpoint. */
export interface RedisStreamSourceState {
  streams: Record<string, RedisStreamPosition>;
  /** Consumer-group mode: the consumer that read these entries. */
  consumer?: string;
}

const START = '0-0';

/** Compares two stream entry ids ("ms-seq") numerically: negative, 0 or positive. */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-');
  const [bm, bs] = b.split('-');
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const s = BigInt(as ?? '0') - BigInt(bs ?? '0');
  return s === 0n ? 0 : s < 0n ? -1 : 1;
}

function positiveInt(what: string, name: string, v: number): number {
  if (!(Number.isSafeInteger(v) && v > 0)) throw new EddyError('JOB_INVALID', `${what}: ${name} must be a positive integer, got ${v}`);
  return v;
}

/**
 * `Sources.redisStream`: the entries of Redis streams, replayed from the checkpointed entry id
 * after a failure; bounded to the last entry present at the first start (default) or
 * continuous; optionally through a consumer group, acknowledged once checkpoints complete.
 */
export function redisStream(opts: RedisStreamSourceOptions): Source<RedisStreamEntry> {
  const streams = Array.isArray(opts.stream) ? opts.stream : [opts.stream];
  const what = `redisStream('${streams.join("', '")}')`;
  if (streams.length === 0 || streams.some((s) => typeof s !== 'string' || s === ''))
    throw new EddyError('JOB_INVALID', `redisStream: stream must be a non-empty key or a list of them`);
  const bounded = opts.bounded ?? true;
  const batchSize = positiveInt(what, 'batchSize', opts.batchSize ?? 1000);
  const pollMs = positiveInt(what, 'pollIntervalMs', opts.pollIntervalMs ?? 50);
  if (opts.group && !opts.group.name) throw new EddyError('JOB_INVALID', `${what}: group.name must be given`);
  return {
    kind: 'redisStream',
    stateful: true,
    bounded,
    async validate() {
      checkRedisUrl(opts.url, what);
      const client = await connectRedis(opts.url, what, 'SOURCE_FAILED');
      try {
        for (const s of streams) {
          const t = await client.type(s);
          if (t === 'none')
            throw new EddyError(
              'INPUT_NOT_FOUND',
              `${what}: stream '${s}' does not exist on ${new URL(opts.url).host}; check the key (or create it, e.g. XADD ${s} * field value)`,
            );
          if (t !== 'stream') throw new EddyError('INPUT_NOT_FOUND', `${what}: key '${s}' holds a ${t}, not a stream`);
          if (opts.group) await createGroup(client, s, opts.group.name);
        }
      } finally {
        await closeRedis(client);
      }
    },
    createReader(ctx: ConnectorContext): SourceReader<RedisStreamEntry> {
      const mine = streams.filter((_, i) => i % ctx.parallelism === ctx.subtaskIndex);
      const consumer = opts.group ? `${opts.group.consumer ?? `eddy-${ctx.operatorUid}`}-${ctx.subtaskIndex}` : undefined;
      return new RedisStreamReader(what, opts.url, mine, bounded, batchSize, pollMs, opts.group?.name, consumer);
    },
  };
}

async function createGroup(client: RedisClient, stream: string, group: string): Promise<void> {
  try {
    await client.xGroupCreate(stream, group, '0');
  } catch (err) {
    if (!messageOf(err).startsWith('BUSYGROUP')) throw err;
  }
}

function isState(s: unknown): s is RedisStreamSourceState {
  return typeof s === 'object' && s !== null && typeof (s as RedisStreamSourceState).streams === 'object';
}

interface StreamCursor {
  stream: string;
  pos: RedisStreamPosition;
  done: boolean;
  /** Group mode: still re-reading this consumer's pending entries after `pos.last`. */
  history: boolean;
}

class RedisStreamReader implements SourceReader<RedisStreamEntry> {
  readonly idleMs: number;
  private client: RedisClient | undefined;
  private cursors: StreamCursor[] = [];
  private restored: Record<string, RedisStreamPosition> | undefined;
  /** Group mode: ids emitted since the last snapshot, per stream. */
  private unacked = new Map<string, string[]>();
  /** Group mode: ids to acknowledge once the checkpoint (key) completes. */
  private toAck = new Map<number, Map<string, string[]>>();

  constructor(
    private readonly what: string,
    private readonly url: string,
    private readonly streams: string[],
    private readonly bounded: boolean,
    private readonly batchSize: number,
    pollMs: number,
    private readonly group: string | undefined,
    private readonly consumer: string | undefined,
  ) {
    this.idleMs = pollMs;
  }

  restoreState(state: unknown): void {
    // One state at the same parallelism, the list of all old subtasks' states after a rescale.
    const states = (Array.isArray(state) ? state : [state]).filter((s) => s != null);
    const merged: Record<string, RedisStreamPosition> = {};
    for (const s of states) {
      if (!isState(s))
        throw new EddyError('STATE_FAILED', `${this.what}: restored source state is malformed: ${JSON.stringify(s)?.slice(0, 200)}`);
      if (this.group && Array.isArray(state) && state.length > 1) {
        throw new EddyError(
          'UNSUPPORTED',
          `${this.what}: a consumer-group source cannot change its parallelism on restore (each consumer's pending entries belong to its subtask)`,
        );
      }
      Object.assign(merged, s.streams);
    }
    this.restored = merged;
  }

  async open(): Promise<void> {
    const client = (this.client = await connectRedis(this.url, this.what, 'SOURCE_FAILED'));
    for (const stream of this.streams) {
      const restored = this.restored?.[stream];
      const pos: RedisStreamPosition = restored ? { ...restored } : { last: START };
      if (!restored && this.bounded) pos.end = await lastId(client, stream, this.what);
      if (restored) await this.checkNotTrimmed(client, stream, pos.last);
      this.cursors.push({ stream, pos, done: false, history: this.group !== undefined });
      if (this.group) {
        await createGroup(client, stream, this.group);
        if (restored) await this.ackUpTo(client, stream, pos.last);
      }
    }
  }

  /**
   * No entry after a restored position may have been deleted. XDEL is visible in the highest
   * id the stream ever deleted (XINFO STREAM); trimming is not, but a stream that now starts
   * after the position no longer holds the checkpointed entry itself, and whether entries
   * after it went too cannot be told: both are refused rather than replayed with a gap.
   */
  private async checkNotTrimmed(client: RedisClient, stream: string, last: string): Promise<void> {
    if (last === START) return;
    const info = (await client.xInfoStream(stream)) as unknown as Record<string, unknown>;
    const deleted = info['max-deleted-entry-id'];
    const first = info['recorded-first-entry-id'] ?? (info['first-entry'] as { id?: string } | null)?.id;
    const lost =
      typeof deleted === 'string' && compareIds(deleted, last) > 0
        ? `entries up to ${deleted} were deleted`
        : typeof first === 'string' && compareIds(first, last) > 0
          ? `it now starts at ${first} (trimmed)`
          : undefined;
    if (lost) {
      throw new EddyError(
        'SOURCE_FAILED',
        `${this.what}: stream '${stream}' no longer holds what follows the checkpointed entry ${last}: ${lost}; the entries in between cannot be replayed`,
      );
    }
  }

  snapshotState(checkpointId?: number): RedisStreamSourceState {
    const streams: Record<string, RedisStreamPosition> = {};
    for (const c of this.cursors) streams[c.stream] = { ...c.pos };
    // Streams of this subtask not opened yet (snapshot before open) keep their restored position.
    if (this.restored) for (const s of this.streams) if (!(s in streams) && this.restored[s]) streams[s] = { ...this.restored[s] };
    if (this.group && checkpointId !== undefined && this.unacked.size > 0) {
      this.toAck.set(checkpointId, this.unacked);
      this.unacked = new Map();
    }
    return this.consumer ? { streams, consumer: this.consumer } : { streams };
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    if (!this.group || !this.client) return;
    for (const [id, byStream] of this.toAck) {
      if (id > checkpointId) continue;
      for (const [stream, ids] of byStream) {
        for (let i = 0; i < ids.length; i += 1000) await this.client.xAck(stream, this.group, ids.slice(i, i + 1000));
      }
      this.toAck.delete(id);
    }
  }

  async poll(out: Collector<RedisStreamEntry>, max: number): Promise<PollStatus> {
    let emitted = 0;
    const count = Math.max(1, Math.min(max, this.batchSize));
    for (const c of this.cursors) if (!c.done) emitted += await this.read(c, out, count);
    if (emitted > 0 || this.cursors.some((c) => c.history)) return 'more';
    if (this.cursors.every((c) => c.done)) return this.bounded ? 'end' : 'idle';
    return 'idle';
  }

  /** Reads and emits up to `count` entries of one stream; returns how many. */
  private async read(c: StreamCursor, out: Collector<RedisStreamEntry>, count: number): Promise<number> {
    const client = this.client!;
    if (c.pos.end !== undefined && compareIds(c.pos.last, c.pos.end) >= 0) {
      c.done = true;
      return 0;
    }
    let entries: Array<{ id: string; message: Record<string, string> }>;
    try {
      entries = this.group
        ? await this.readGroup(client, c, count)
        : ((await client.xRange(c.stream, `(${c.pos.last}`, c.pos.end ?? '+', { COUNT: count })) ?? []);
    } catch (err) {
      throw new EddyError('SOURCE_FAILED', `${this.what}: reading stream '${c.stream}' failed: ${messageOf(err)}`, {
        cause: messageOf(err),
      });
    }
    let acks = this.group ? this.unacked.get(c.stream) : undefined;
    if (this.group && !acks) this.unacked.set(c.stream, (acks = []));
    let n = 0;
    for (const e of entries) {
      if (c.pos.end !== undefined && compareIds(e.id, c.pos.end) > 0) {
        c.done = true;
        break;
      }
      out.collect({ stream: c.stream, id: e.id, fields: { ...e.message } });
      c.pos.last = e.id;
      acks?.push(e.id);
      n++;
    }
    if (entries.length === 0) {
      if (c.history) c.history = false;
      // Bounded: nothing more up to the end (entries deleted since the start).
      else if (c.pos.end !== undefined) c.done = true;
    }
    return n;
  }

  /** Group mode: this consumer's pending entries after the position first, then new ones ('>'). */
  private async readGroup(
    client: RedisClient,
    c: StreamCursor,
    count: number,
  ): Promise<Array<{ id: string; message: Record<string, string> }>> {
    const reply = await client.xReadGroup(
      this.group!,
      this.consumer!,
      { key: c.stream, id: c.history ? c.pos.last : '>' },
      { COUNT: count },
    );
    const list =
      (reply as unknown as Array<{ messages: Array<{ id: string; message: Record<string, string> } | null> }> | null)?.[0]?.messages ?? [];
    // A pending entry deleted from the stream comes back as null: nothing to emit.
    return list.filter((m): m is { id: string; message: Record<string, string> } => m !== null && m.message !== null);
  }

  /** After a restore: pending entries up to the restored position are covered by its checkpoint. */
  private async ackUpTo(client: RedisClient, stream: string, last: string): Promise<void> {
    if (last === START) return;
    for (;;) {
      const pending = (await client.xPendingRange(stream, this.group!, '-', last, 1000, { consumer: this.consumer! })) as Array<{
        id: string;
      }>;
      if (pending.length === 0) return;
      await client.xAck(
        stream,
        this.group!,
        pending.map((p) => p.id),
      );
      if (pending.length < 1000) return;
    }
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await closeRedis(c);
  }
}

/** The id of the last entry of a stream (where a bounded read stops), '0-0' when it is empty. */
async function lastId(client: RedisClient, stream: string, what: string): Promise<string> {
  let last;
  try {
    last = (await client.xRevRange(stream, '+', '-', { COUNT: 1 })) ?? [];
  } catch (err) {
    throw new EddyError('SOURCE_FAILED', `${what}: reading stream '${stream}' failed: ${messageOf(err)}`, { cause: messageOf(err) });
  }
  return last.length > 0 ? last[0].id : START;
}
