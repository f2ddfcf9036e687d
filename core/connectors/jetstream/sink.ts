/**
 * `Sinks.jetstream(...)`: one JetStream message per record.
 *
 * exactly-once (default), within limits said below: the write-ahead sink. At each barrier the
 * messages since the last one are sealed into a batch kept in the checkpoint; once the
 * checkpoint completes the batch is published in chunks, every message with a Nats-Msg-Id made
 * of the writer (subtask, attempt, a random part), the batch and its index, and after each
 * chunk's acknowledgements a ledger entry in a KV bucket records how far that writer's batches
 * are published. A re-commit after a restore first reads the ledger and skips what it records
 * (however long ago that was); messages published after the last ledger entry (a chunk whose
 * commit was cut off) are published again with the same ids and dropped by the server as
 * duplicates.
 *
 * The guarantee and its limit: the server drops a repeated Nats-Msg-Id only within the
 * stream's `duplicate_window` (default 2 minutes). A re-commit later than that after a
 * failure that struck between a chunk's publish and its ledger entry duplicates that chunk's
 * messages (at most `chunk` messages per subtask and failure). NATS 2.9 has no atomic batch
 * publish (2.12 has, with allow_atomic) to close this gap. Everything else holds for any delay:
 * batches the ledger records are never published again.
 *
 * at-least-once: messages are published right away (acknowledged publishes, batches of
 * `flushEvery`) and every barrier waits for their acks; a restore replays, and so duplicates,
 * the messages published after the restored checkpoint.
 */
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { jetstreamLib, kvLib } from './lib.js';
import { EddyError, messageOf } from '../../failure.js';
import { LazyConnection } from '../lazy-connection.js';
import { AtLeastOnceWriter } from '../sinks/at-least-once.js';
import { EncodingWriter } from '../sinks/encoding-writer.js';
import { writeAhead, type WriteAheadBatch } from '../sinks/write-ahead.js';
import type { ConnectorContext, Sink, SinkWriter } from '../types.js';
import { checkNatsUrl, closeNats, connectNats, type NatsConnection } from './connection.js';

/** Options of `Sinks.jetstream`. */
export interface JetStreamSinkOptions<T> {
  /** NATS URL, e.g. nats://127.0.0.1:4222. */
  url: string;
  /** The subject each record is published to (a stream must capture it). */
  subject: string | ((value: T) => string);
  /** 'exactly-once' (default, see the module comment) or 'at-least-once'. */
  mode?: 'exactly-once' | 'at-least-once';
  /** The message payload for a record. Default: JSON. */
  data?: (value: T) => string;
  /** exactly-once: the KV bucket of the commit ledger (created if missing). Default 'eddy-ledger'. */
  ledgerBucket?: string;
  /** exactly-once: messages published between ledger entries. Default 500. */
  chunk?: number;
  /** at-least-once: records per batch of publishes. Default 500. */
  flushEvery?: number;
  /** Default name of the sink operator. Default 'jetstream'. */
  name?: string;
}

/** [subject, payload]: what the checkpoint keeps per message. */
type EncodedMessage = [string, string];

interface Conn {
  nc: NatsConnection;
  js: JetStreamClient;
  ledger?: KV;
}

const DEFAULT_CHUNK = 500;

/**
 * `Sinks.jetstream`: one message per record, exactly-once within the stream's duplicate window
 * (write-ahead batches, Nats-Msg-Id de-duplication and a KV commit ledger) or at-least-once.
 */
export function jetstreamSink<T>(opts: JetStreamSinkOptions<T>): Sink<T> {
  const name = opts.name ?? 'jetstream';
  const what = `${name}('${typeof opts.subject === 'string' ? opts.subject : 'subject()'}')`;
  const mode = opts.mode ?? 'exactly-once';
  if (mode !== 'exactly-once' && mode !== 'at-least-once')
    throw new EddyError('JOB_INVALID', `${what}: mode must be 'exactly-once' or 'at-least-once', got '${mode}'`);
  if (typeof opts.subject !== 'function' && (typeof opts.subject !== 'string' || opts.subject === ''))
    throw new EddyError('JOB_INVALID', `${name}: subject must be a subject or a function (value) => subject`);
  const chunk = opts.chunk ?? DEFAULT_CHUNK;
  const flushEvery = opts.flushEvery ?? DEFAULT_CHUNK;
  for (const [k, v] of [
    ['chunk', chunk],
    ['flushEvery', flushEvery],
  ] as const) {
    if (!(Number.isSafeInteger(v) && v > 0)) throw new EddyError('JOB_INVALID', `${what}: ${k} must be a positive integer, got ${v}`);
  }
  const bucket = opts.ledgerBucket ?? 'eddy-ledger';
  const subjectOf = typeof opts.subject === 'function' ? opts.subject : () => opts.subject as string;
  const dataOf = opts.data ?? ((v: T) => JSON.stringify(v));
  const encode = (value: T): EncodedMessage => {
    try {
      return [subjectOf(value), dataOf(value)];
    } catch (err) {
      throw new EddyError('SINK_FAILED', `${what}: subject() or data() threw: ${messageOf(err)}`, { cause: messageOf(err) });
    }
  };
  const connectAll = async (): Promise<Conn> => {
    const nc = await connectNats(opts.url, what, 'SINK_FAILED');
    try {
      return {
        nc,
        js: jetstreamLib().jetstream(nc),
        ledger: mode === 'exactly-once' ? await new (kvLib().Kvm)(nc).create(bucket, { history: 1 }) : undefined,
      };
    } catch (err) {
      await closeNats(nc);
      throw new EddyError('SINK_FAILED', `${what}: cannot open the ledger bucket '${bucket}': ${messageOf(err)}`, {
        cause: messageOf(err),
      });
    }
  };

  return {
    kind: name,
    stateful: true,
    async validate() {
      checkNatsUrl(opts.url, what);
      const conn = await connectAll();
      try {
        if (typeof opts.subject === 'string') {
          const jsm = await jetstreamLib().jetstreamManager(conn.nc);
          try {
            await jsm.streams.find(opts.subject);
          } catch {
            throw new EddyError(
              'BAD_ARG',
              `${what}: no JetStream stream captures subject '${opts.subject}'; create one (e.g. nats stream add --subjects '${opts.subject}')`,
            );
          }
        }
      } finally {
        await closeNats(conn.nc);
      }
    },
    createWriter(ctx: ConnectorContext): SinkWriter<T> {
      const conn = new LazyConnection(connectAll, (c) => closeNats(c.nc));
      if (mode === 'at-least-once') {
        const target = {
          write: async (msgs: EncodedMessage[]) => void (await publishAll((await conn.get()).js, msgs)),
          close: () => conn.close(),
        };
        return new EncodingWriter(encode, new AtLeastOnceWriter<EncodedMessage>(what, target, flushEvery, ctx));
      }
      const sink = writeAhead<EncodedMessage>({
        name: what,
        write: async (msgs, c, batch) => {
          const duplicates = await commitBatch(await conn.get(), msgs, batch, chunk);
          if (duplicates > 0) c.report({ kind: 'duplicates-dropped', batch: batch.id, duplicates });
        },
      });
      return new EncodingWriter(encode, sink.createWriter(ctx) as SinkWriter<EncodedMessage>, () => conn.close());
    },
  };
}

async function publishAll(js: JetStreamClient, msgs: EncodedMessage[], ids?: (i: number) => string): Promise<PubAck[]> {
  // Publishes go out in order on one connection; their acks are awaited together.
  return Promise.all(msgs.map(([subject, data], i) => js.publish(subject, data, ids ? { msgID: ids(i) } : undefined)));
}

/** The ledger key of a writer (KV keys allow [-/_=.A-Za-z0-9]). */
function ledgerKey(writer: string): string {
  return Buffer.from(writer).toString('base64url');
}

/**
 * Publishes the part of a batch the ledger does not record, chunk by chunk, each chunk's ledger
 * entry after its acks. Returns how many publishes the server reported as duplicates.
 */
async function commitBatch(conn: Conn, msgs: EncodedMessage[], batch: WriteAheadBatch, chunk: number): Promise<number> {
  const key = ledgerKey(batch.writer);
  const entry = await conn.ledger!.get(key);
  let done = 0;
  if (entry && entry.operation === 'PUT') {
    const [s, d] = entry.string().split(':').map(Number);
    if (s > batch.seq) return 0;
    if (s === batch.seq) done = d;
  }
  let duplicates = 0;
  for (let off = done; off < msgs.length; off += chunk) {
    const part = msgs.slice(off, off + chunk);
    const acks = await publishAll(conn.js, part, (i) => `${batch.writer}:${batch.seq}:${off + i}`);
    for (const a of acks) if (a.duplicate) duplicates++;
    await conn.ledger!.put(key, `${batch.seq}:${off + part.length}`);
  }
  return duplicates;
}
