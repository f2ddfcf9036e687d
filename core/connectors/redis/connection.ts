/**
 * One Redis connection for a connector, with the failures a user can cause turned into one
 * clear line: a URL that is not a redis:// URL, a server that cannot be reached. After the
 * first connection, a lost one is retried for a while (a restarted server comes back) and then
 * given up, so the task fails and the job's restart strategy takes over instead of hanging.
 */
import type { RedisClientType } from '@redis/client';
import type * as RedisLib from '@redis/client';
import { lazyModule } from '../lazy-module.js';

const redisLib = lazyModule<typeof RedisLib>('@redis/client');
import { EddyError, type FailureCode, messageOf } from '../../failure.js';

export type RedisClient = RedisClientType;

/** Reconnect attempts after a lost connection, RECONNECT_DELAY_MS apart (about 10 s in all). */
const RECONNECT_ATTEMPTS = 40;
const RECONNECT_DELAY_MS = 250;
const CONNECT_TIMEOUT_MS = 5000;

/** Checks the URL's form without connecting; `what` names the connector, e.g. "redisStream('in')". */
export function checkRedisUrl(url: string, what: string): void {
  let u: URL | undefined;
  try {
    u = new URL(url);
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== 'redis:' && u.protocol !== 'rediss:') || !u.hostname) {
    throw new EddyError('BAD_ARG', `${what}: '${url}' is not a Redis URL; give one like redis://127.0.0.1:6379`);
  }
}

/** The URL without a password, for messages. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * Connects, or fails with `code` and a line naming the server and what to do. The client's
 * 'error' events are swallowed (the command that meets the error rejects with it).
 */
export async function connectRedis(url: string, what: string, code: FailureCode): Promise<RedisClient> {
  checkRedisUrl(url, what);
  let connected = false;
  const client = redisLib().createClient({
    url,
    // A blocked or long command must not be cut off by the client (v6 defaults to 5 s).
    commandOptions: { timeout: 0 },
    socket: {
      connectTimeout: CONNECT_TIMEOUT_MS,
      reconnectStrategy: (retries: number, cause: Error) => (!connected || retries >= RECONNECT_ATTEMPTS ? cause : RECONNECT_DELAY_MS),
    },
  } as Parameters<typeof RedisLib.createClient>[0]) as unknown as RedisClient;
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    client.destroy?.();
    throw new EddyError(
      code,
      `${what}: cannot connect to Redis at ${safeUrl(url)} (${messageOf(err)}); check the URL and that redis-server is running`,
      {
        cause: messageOf(err),
      },
    );
  }
  connected = true;
  return client;
}

/** Closes a client, ignoring a connection that is already gone. */
export async function closeRedis(client: RedisClient | undefined): Promise<void> {
  if (!client) return;
  try {
    if (client.isOpen) await client.close();
  } catch {
    client.destroy?.();
  }
}
