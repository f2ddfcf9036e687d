/**
 * Connecting to PostgreSQL with failures a user can act on: every error names the server
 * (host, port, database — never the password) and says what to do, as one line.
 */
import type pg from 'pg';
import { lazyModule } from '../lazy-module.js';

const pgLib = lazyModule<typeof pg>('pg');
import { EddyError, type FailureCode, messageOf } from '../../failure.js';

/** How long a connection attempt may take before the server counts as unreachable. */
export const CONNECT_TIMEOUT_MS = 5_000;

export interface PgTarget {
  connectionString: string;
  /** 'sink' or 'source', for messages and failure codes. */
  role: 'sink' | 'source';
  /** Name of the connector for messages, e.g. `postgres sink`. */
  name: string;
}

/** host:port/database of a connection string, for messages (no user, no password). */
export function describeServer(connectionString: string): string {
  try {
    const c = new (pgLib().Client)({ connectionString });
    return `${c.host ?? 'localhost'}:${c.port ?? 5432}/${c.database ?? ''}`;
  } catch {
    return '(unparsable connection string)';
  }
}

function errCode(err: unknown): string | undefined {
  const c = (err as { code?: unknown })?.code;
  return typeof c === 'string' ? c : undefined;
}

/** The PostgreSQL SQLSTATE or Node error code of a failure, if any. */
export { errCode as pgErrorCode };

/** One line saying what went wrong with the server and what to do. */
export function explainPgError(err: unknown, t: PgTarget): string {
  const where = describeServer(t.connectionString);
  const msg = messageOf(err);
  switch (errCode(err)) {
    case 'ECONNREFUSED':
      return `${t.name}: cannot connect to PostgreSQL at ${where}: connection refused; start the server or fix the connection string`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${t.name}: cannot connect to PostgreSQL at ${where}: unknown host; fix the connection string`;
    case 'ETIMEDOUT':
      return `${t.name}: cannot connect to PostgreSQL at ${where}: no answer; check the server and the connection string`;
    case '3D000':
      return `${t.name}: PostgreSQL at ${where}: ${msg}; create it or fix the connection string`;
    case '28000':
    case '28P01':
      return `${t.name}: PostgreSQL at ${where} refused the login: ${msg}; fix the user or password in the connection string`;
    case '57P01':
    case '57P03':
      return `${t.name}: PostgreSQL at ${where} is shutting down or starting up (${msg})`;
  }
  if (/timeout/i.test(msg))
    return `${t.name}: cannot connect to PostgreSQL at ${where}: no answer within ${CONNECT_TIMEOUT_MS} ms; check the server and the connection string`;
  return `${t.name}: PostgreSQL at ${where}: ${msg}`;
}

export function pgFailure(
  err: unknown,
  t: PgTarget,
  where: { operatorUid?: string; subtask?: number } = {},
  code?: FailureCode,
): EddyError {
  if (err instanceof EddyError) return err;
  return new EddyError(code ?? (t.role === 'sink' ? 'SINK_FAILED' : 'SOURCE_FAILED'), explainPgError(err, t), {
    ...where,
    cause: messageOf(err),
  });
}

/**
 * A connected client. A connection the server drops while idle emits 'error' outside any
 * query; without a listener that would crash the worker, so it is kept and raised by the
 * next use instead (the broken client fails its next query anyway).
 */
export async function connect(t: PgTarget, where: { operatorUid?: string; subtask?: number } = {}): Promise<pg.Client> {
  let client: pg.Client;
  try {
    client = new (pgLib().Client)({ connectionString: t.connectionString, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  } catch (err) {
    throw new EddyError(
      t.role === 'sink' ? 'SINK_FAILED' : 'SOURCE_FAILED',
      `${t.name}: malformed connection string: ${messageOf(err)}`,
      where,
    );
  }
  client.on('error', () => {
    /* the next query on this client fails and reports it */
  });
  try {
    await client.connect();
  } catch (err) {
    void client.end().catch(() => {});
    throw pgFailure(err, t, where);
  }
  return client;
}

/** Closes a client, ignoring a connection that is already gone. */
export async function disconnect(client: pg.Client | undefined): Promise<void> {
  if (!client) return;
  try {
    await client.end();
  } catch {
    /* already closed */
  }
}

/** Quotes an identifier, or a dotted schema.table, for SQL text. */
export function quoteIdent(name: string): string {
  return name
    .split('.')
    .map((p) => `"${p.replace(/"/g, '""')}"`)
    .join('.');
}

/**
 * Checks on the main thread that the table (or query) exists and has the columns; `missing`
 * says what to do when it does not. Returns the column type ids by name.
 */
export async function describeRelation(client: pg.Client, t: PgTarget, from: string, what: string): Promise<Map<string, number>> {
  try {
    const r = await client.query(`SELECT * FROM ${from} WHERE false`);
    return new Map(r.fields.map((f) => [f.name, f.dataTypeID]));
  } catch (err) {
    const code = errCode(err);
    if (code === '42P01') {
      throw new EddyError(
        t.role === 'sink' ? 'OUTPUT_FAILED' : 'INPUT_NOT_FOUND',
        `${t.name}: ${what} does not exist on PostgreSQL at ${describeServer(t.connectionString)}; create it first`,
      );
    }
    throw new EddyError(
      t.role === 'sink' ? 'OUTPUT_FAILED' : 'INPUT_NOT_FOUND',
      `${t.name}: ${what} cannot be read on PostgreSQL at ${describeServer(t.connectionString)}: ${messageOf(err)}`,
    );
  }
}
