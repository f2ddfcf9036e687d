/**
 * The Redis Streams and NATS JetStream systems of the `connectors` bench suite
 * (bench/connectors.ts runs them): each starts its own redis-server (AOF, appendfsync always:
 * the durability exactly-once relies on) or nats-server -js (file store) on 127.0.0.1 with a
 * temporary folder, and counts what a run left in its stream.
 */
import { fileURLToPath } from 'node:url';
import { createClient } from '@redis/client';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { hasBinary, missing, startNats, startRedis } from '../test/helpers/servers.js';
import type { SinkCase, SinkSystem } from './connectors-types.js';

/** generated records → keyed running count → the sink chosen by `--arg sink=redis|jetstream`. */
const STREAM_JOB = fileURLToPath(new URL('../../bench/jobs/stream-sink.mjs', import.meta.url));

export const redisSystem: SinkSystem = {
  skip: hasBinary('redis-server') ? undefined : missing('redis-server'),
  async start() {
    const server = await startRedis();
    const client = createClient({ url: server.url });
    client.on('error', () => {});
    await client.connect();
    return {
      args: { redis: server.url },
      async count(stream) {
        const n = await client.xLen(stream);
        await client.del([stream, `${stream}:eddy-ledger`]);
        return n;
      },
      async stop() {
        await client.close().catch(() => {});
        await server.dispose();
      },
    };
  },
};

export const jetstreamSystem: SinkSystem = {
  skip: hasBinary('nats-server') ? undefined : missing('nats-server'),
  async start() {
    const server = await startNats();
    const nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    return {
      args: { nats: server.url },
      // The sink publishes into a stream that must exist: one per run, captured by its subject.
      async prepare(stream) {
        await jsm.streams.add({ name: stream, subjects: [`bench.${stream}`] });
      },
      async count(stream) {
        const n = (await jsm.streams.info(stream)).state.messages;
        await jsm.streams.delete(stream);
        return n;
      },
      async stop() {
        await nc.close().catch(() => {});
        await server.dispose();
      },
    };
  },
};

const streamCase = (system: 'redis' | 'jetstream', mode: 'exactly-once' | 'at-least-once'): SinkCase => ({
  system,
  mode,
  job: STREAM_JOB,
  exact: mode === 'exactly-once',
  args: (t) => ({ sink: system, 'sink-mode': mode, stream: t, subject: `bench.${t}` }),
});

export const STREAM_SINK_CASES: SinkCase[] = [
  streamCase('redis', 'exactly-once'),
  streamCase('redis', 'at-least-once'),
  streamCase('jetstream', 'exactly-once'),
  streamCase('jetstream', 'at-least-once'),
];
