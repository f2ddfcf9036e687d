/**
 * `Sinks.redisStream(...)`: one stream entry per record.
 *
 * exactly-once (default): the write-ahead sink. At each barrier the entries since the last one
 * are sealed into a batch kept in the checkpoint; once the checkpoint completes, the batch is
 * appended by the commit script (commit-script.ts) in chunks, each chunk together with the
 * ledger entry that says it is there, atomically on the server. Re-commits after a restore
 * (of batches that may or may not have reached Redis before a failure) add nothing twice.
 * The stream therefore holds each record's entry exactly once, provided Redis keeps what it
 * acknowledged (AOF with `appendfsync always`; with `everysec` a Redis crash can lose the last
 * second, entries and ledger together, which the re-commit then writes again: still no
 * duplicate, but it needs the checkpoint that holds the batch to be restorable).
 * Entries become visible about one checkpoint interval after they were written, chunk by
 * chunk (a reader may see part of a checkpoint's entries before the rest).
 *
 * at-least-once: entries are appended right away (pipelined XADD, batches of `flushEvery`)
 * and every barrier waits for them; a restore replays, and so duplicates, the entries written
 * after the restored checkpoint.
 */
import { EddyError, messageOf } from '../../failure.js';
import { LazyConnection } from '../lazy-connection.js';
import { AtLeastOnceWriter } from '../sinks/at-least-once.js';
import { EncodingWriter } from '../sinks/encoding-writer.js';
import { writeAhead, type WriteAheadBatch } from '../sinks/write-ahead.js';
import type { ConnectorContext, Sink, SinkWriter } from '../types.js';
import { COMMIT_SCRIPT } from './commit-script.js';
import { checkRedisUrl, closeRedis, connectRedis, type RedisClient } from './connection.js';

/** The fields of one stream entry. */
/** The fields of one stream entry, as `Sinks.redisStream`'s `fields` option returns them. */
export type RedisEntryFields = Record<string, string | number | boolean>;

/** Options of `Sinks.redisStream`. */
export interface RedisStreamSinkOptions<T> {
  /** Redis URL, e.g. redis://127.0.0.1:6379 (rediss:// for TLS). */
  url: string;
  /** Key of the stream the entries are appended to (created by the first entry). */
  stream: string;
  /** 'exactly-once' (default) or 'at-least-once' (see the module comment). */
  mode?: 'exactly-once' | 'at-least-once';
  /**
   * The entry's fields for a record. Default: a plain object's own properties (strings as
   * they are, anything else as JSON), any other value as `{ value: JSON }`.
   */
  fields?: (value: T) => RedisEntryFields;
  /** exactly-once: the ledger hash. Default `<stream>:eddy-ledger`. */
  ledgerKey?: string;
  /** exactly-once: entries per commit script (a script blocks the server while it runs). Default 500. */
  entriesPerScript?: number;
  /** at-least-once: records per pipelined batch. Default 500. */
  flushEvery?: number;
  /** Default name of the sink operator. Default 'redisStream'. */
  name?: string;
}

const DEFAULT_CHUNK = 500;

/** One entry as the commit sends it: N followed by N strings (field, value, ...). */
type EncodedEntry = string[];

function defaultFields(value: unknown): RedisEntryFields {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as RedisEntryFields;
  return { value: JSON.stringify(value) };
}

function positiveInt(name: string, what: string, v: number): number {
  if (!(Number.isSafeInteger(v) && v > 0)) throw new EddyError('JOB_INVALID', `${name}: ${what} must be a positive integer, got ${v}`);
  return v;
}

/**
 * `Sinks.redisStream`: one stream entry per record, exactly-once (write-ahead batches committed
 * by an atomic Lua script with a ledger) or at-least-once (appended right away).
 */
export function redisStream<T>(opts: RedisStreamSinkOptions<T>): Sink<T> {
  const name = opts.name ?? 'redisStream';
  const what = `${name}('${opts.stream}')`;
  if (typeof opts.stream !== 'string' || opts.stream === '') throw new EddyError('JOB_INVALID', `${name}: stream must be a non-empty key`);
  const mode = opts.mode ?? 'exactly-once';
  if (mode !== 'exactly-once' && mode !== 'at-least-once')
    throw new EddyError('JOB_INVALID', `${what}: mode must be 'exactly-once' or 'at-least-once', got '${mode}'`);
  const chunk = positiveInt(what, 'entriesPerScript', opts.entriesPerScript ?? DEFAULT_CHUNK);
  const flushEvery = positiveInt(what, 'flushEvery', opts.flushEvery ?? DEFAULT_CHUNK);
  const ledgerKey = opts.ledgerKey ?? `${opts.stream}:eddy-ledger`;
  const toFields = opts.fields ?? (defaultFields as (v: T) => RedisEntryFields);
  const encode = (value: T): EncodedEntry => encodeEntry(what, toFields, value);

  return {
    kind: name,
    stateful: true,
    async validate() {
      checkRedisUrl(opts.url, what);
      const client = await connectRedis(opts.url, what, 'SINK_FAILED');
      try {
        await checkType(client, opts.stream, 'stream', what);
        if (mode === 'exactly-once') await checkType(client, ledgerKey, 'hash', `${what} ledger`);
      } finally {
        await closeRedis(client);
      }
    },
    createWriter(ctx: ConnectorContext): SinkWriter<T> {
      const conn = new LazyConnection(() => connectRedis(opts.url, what, 'SINK_FAILED'), closeRedis);
      if (mode === 'at-least-once') {
        const target = {
          write: async (entries: EncodedEntry[]) => appendPipelined(await conn.get(), opts.stream, entries),
          close: () => conn.close(),
        };
        return new EncodingWriter(encode, new AtLeastOnceWriter<EncodedEntry>(what, target, flushEvery, ctx));
      }
      const sink = writeAhead<EncodedEntry>({
        name: what,
        write: async (entries, _ctx, batch) => commitBatch(await conn.get(), opts.stream, ledgerKey, entries, batch, chunk),
      });
      return new EncodingWriter(encode, sink.createWriter(ctx) as SinkWriter<EncodedEntry>, () => conn.close());
    },
  };
}

function encodeEntry<T>(what: string, toFields: (v: T) => RedisEntryFields, value: T): EncodedEntry {
  let fields: RedisEntryFields;
  try {
    fields = toFields(value);
  } catch (err) {
    throw new EddyError('SINK_FAILED', `${what}: fields() threw: ${messageOf(err)}`, { cause: messageOf(err) });
  }
  const out: string[] = [''];
  for (const k in fields) {
    const v = fields[k];
    if (v === undefined) continue;
    out.push(k, typeof v === 'string' ? v : JSON.stringify(v));
  }
  if (out.length === 1)
    throw new EddyError(
      'SINK_FAILED',
      `${what}: a record gave an entry without fields (${JSON.stringify(value)?.slice(0, 100)}); a stream entry needs at least one`,
    );
  out[0] = String(out.length - 1);
  return out;
}

/** Stream and ledger keys must be absent or of their type: a clear line, not a WRONGTYPE mid-commit. */
async function checkType(client: RedisClient, key: string, type: string, what: string): Promise<void> {
  const t = await client.type(key);
  if (t !== 'none' && t !== type)
    throw new EddyError('BAD_ARG', `${what}: key '${key}' holds a ${t}, not a ${type}; choose another key or delete it`);
}

/** Appends one write-ahead batch exactly once: chunks through the commit script, pipelined in order. */
async function commitBatch(
  client: RedisClient,
  stream: string,
  ledgerKey: string,
  entries: EncodedEntry[],
  batch: WriteAheadBatch,
  chunk: number,
): Promise<void> {
  const calls: Promise<unknown>[] = [];
  for (let off = 0; off < entries.length; off += chunk) {
    const args = [batch.writer, String(batch.seq), String(off)];
    for (const e of entries.slice(off, off + chunk)) for (const s of e) args.push(s);
    // Chunks go out pipelined and run in order; a failed chunk makes every later one refuse (gap).
    calls.push(client.eval(COMMIT_SCRIPT, { keys: [stream, ledgerKey], arguments: args }));
  }
  const results = await Promise.allSettled(calls);
  const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
  if (failed) throw new Error(messageOf(failed.reason));
}

async function appendPipelined(client: RedisClient, stream: string, entries: EncodedEntry[]): Promise<void> {
  const multi = client.multi();
  for (const e of entries) {
    const fields: Record<string, string> = {};
    for (let i = 1; i < e.length; i += 2) fields[e[i]] = e[i + 1];
    multi.xAdd(stream, '*', fields);
  }
  await multi.execAsPipeline();
}
