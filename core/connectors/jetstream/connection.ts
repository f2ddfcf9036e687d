/**
 * One NATS connection for a JetStream connector, with the failures a user can cause turned into
 * one clear line: a URL that is not a nats:// URL, a server that cannot be reached. A lost
 * connection is retried for a while (a restarted server comes back), then the task fails and
 * the job's restart strategy takes over.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type * as NatsTransport from '@nats-io/transport-node';
import { lazyModule } from '../lazy-module.js';

const natsLib = lazyModule<typeof NatsTransport>('@nats-io/transport-node');
import { EddyError, type FailureCode, messageOf } from '../../failure.js';

export type { NatsConnection };

/** Reconnect attempts after a lost connection, RECONNECT_WAIT_MS apart (about 10 s in all). */
const RECONNECT_ATTEMPTS = 40;
const RECONNECT_WAIT_MS = 250;
const CONNECT_TIMEOUT_MS = 5000;

export function checkNatsUrl(url: string, what: string): void {
  let u: URL | undefined;
  try {
    u = new URL(url);
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== 'nats:' && u.protocol !== 'tls:') || !u.hostname) {
    throw new EddyError('BAD_ARG', `${what}: '${url}' is not a NATS URL; give one like nats://127.0.0.1:4222`);
  }
}

export async function connectNats(url: string, what: string, code: FailureCode): Promise<NatsConnection> {
  checkNatsUrl(url, what);
  try {
    return await natsLib().connect({
      servers: url,
      timeout: CONNECT_TIMEOUT_MS,
      maxReconnectAttempts: RECONNECT_ATTEMPTS,
      reconnectTimeWait: RECONNECT_WAIT_MS,
    });
  } catch (err) {
    throw new EddyError(
      code,
      `${what}: cannot connect to NATS at ${new URL(url).host} (${messageOf(err)}); check the URL and that nats-server -js is running`,
      {
        cause: messageOf(err),
      },
    );
  }
}

export async function closeNats(nc: NatsConnection | undefined): Promise<void> {
  if (!nc || nc.isClosed()) return;
  try {
    await nc.close();
  } catch {
    /* already gone */
  }
}

/** True for the JetStream API's "stream not found". */
export function isStreamNotFound(err: unknown): boolean {
  return err instanceof Error && (err.constructor.name === 'StreamNotFoundError' || /stream not found/i.test(err.message));
}
