/**
 * Records/s of the Redis Streams and JetStream sinks, exactly-once against at-least-once, in one
 * run, next to the same job into a discard sink (the engine's own ceiling). Starts its own
 * redis-server (AOF, appendfsync always: the durability exactly-once relies on) and nats-server -js
 * (file store) on 127.0.0.1 with temporary folders, and checks after each run that the target
 * holds what it should (exactly N entries for exactly-once, at least N for at-least-once).
 *
 *   node dist/bench/connectors-streams.js [--records N] [--keys K] [--rounds R] [--parallelism P] [--interval MS]
 *
 * Rounds alternate the order of the cases; each case's figure is the median of its rounds.
 * To fold it into another bench (bench/connectors.ts): import `benchStreamSinks` (or the
 * cases, STREAM_SINK_CASES) and report its figures beside that file's sink cases.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient } from '@redis/client';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { runChecked } from './engine-run.js';
import { startNats, startRedis } from '../test/helpers/servers.js';

const JOB = fileURLToPath(new URL('../../bench/jobs/stream-sink.mjs', import.meta.url));

export interface StreamSinkCase {
  name: string;
  sink: 'discard' | 'redis' | 'jetstream';
  mode: 'exactly-once' | 'at-least-once';
}
export const STREAM_SINK_CASES: StreamSinkCase[] = [
  { name: 'discard (engine ceiling)', sink: 'discard', mode: 'exactly-once' },
  { name: 'redis exactly-once', sink: 'redis', mode: 'exactly-once' },
  { name: 'redis at-least-once', sink: 'redis', mode: 'at-least-once' },
  { name: 'jetstream exactly-once', sink: 'jetstream', mode: 'exactly-once' },
  { name: 'jetstream at-least-once', sink: 'jetstream', mode: 'at-least-once' },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export interface StreamSinkBenchOptions {
  records: number;
  keys: number;
  rounds: number;
  parallelism: number;
  /** Checkpoint interval, ms. */
  interval: number;
}

/**
 * Runs every case `rounds` times (alternating the order) against servers of its own; returns
 * each case's records/s per round, by case name.
 */
export async function benchStreamSinks({ records, keys, rounds, parallelism, interval }: StreamSinkBenchOptions): Promise<Map<string, number[]>> {
  const CASES = STREAM_SINK_CASES;
  const redis = await startRedis();
  const nats = await startNats();
  const rc = createClient({ url: redis.url });
  rc.on('error', () => {});
  await rc.connect();
  const nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  const rates = new Map<string, number[]>();
  try {
    // The first engine job starts the slot threads, which later jobs reuse: not a figure.
    await runChecked(JOB, { parallelism, mode: 'exactly-once', args: { count: String(Math.min(records, 20000)), keys: String(keys), sink: 'discard' } }, Math.min(records, 20000));
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? CASES : [...CASES].reverse();
      for (const c of order) {
        const tag = `${c.sink}-${c.mode}-${round}`.replace(/[^A-Za-z0-9]/g, '_');
        const subject = `bench.${tag}`;
        if (c.sink === 'jetstream') await jsm.streams.add({ name: tag, subjects: [subject] });
        const res = await runChecked(
          JOB,
          {
            parallelism,
            mode: 'exactly-once',
            checkpointIntervalMs: interval,
            args: { count: String(records), keys: String(keys), sink: c.sink, 'sink-mode': c.mode, redis: redis.url, stream: tag, nats: nats.url, subject },
          },
          records,
        );
        const held = c.sink === 'redis' ? await rc.xLen(tag) : c.sink === 'jetstream' ? (await jsm.streams.info(tag)).state.messages : records;
        if (c.mode === 'exactly-once' ? held !== records : held < records) throw new Error(`${c.name}: the target holds ${held} of ${records} records`);
        if (c.sink === 'redis') await rc.del([tag, `${tag}:eddy-ledger`]);
        if (c.sink === 'jetstream') await jsm.streams.delete(tag);
        const rate = records / (res.durationMs / 1000);
        (rates.get(c.name) ?? rates.set(c.name, []).get(c.name)!).push(rate);
        console.error(`round ${round + 1}/${rounds} ${c.name}: ${Math.round(rate).toLocaleString('en-US')} records/s`);
      }
    }
  } finally {
    await rc.close().catch(() => {});
    await nc.close().catch(() => {});
    await redis.dispose();
    await nats.dispose();
  }
  return rates;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: '200000' },
      keys: { type: 'string', default: '1000' },
      rounds: { type: 'string', default: '3' },
      parallelism: { type: 'string', default: '2' },
      interval: { type: 'string', default: '1000' },
    },
  });
  const opts = { records: Number(values.records), keys: Number(values.keys), rounds: Number(values.rounds), parallelism: Number(values.parallelism), interval: Number(values.interval) };
  const { records, keys, rounds, parallelism, interval } = opts;
  const CASES = STREAM_SINK_CASES;
  const rates = await benchStreamSinks(opts);
  const ceiling = median(rates.get(CASES[0].name)!);
  console.log(`\nSinks into Redis Streams and JetStream: ${records.toLocaleString('en-US')} records, ${keys} keys, parallelism ${parallelism}, checkpoint every ${interval} ms, median of ${rounds}`);
  console.log('| case | records/s | of discard |');
  console.log('| --- | ---: | ---: |');
  for (const c of CASES) {
    const r = median(rates.get(c.name)!);
    console.log(`| ${c.name} | ${Math.round(r).toLocaleString('en-US')} | ${((r / ceiling) * 100).toFixed(0)} % |`);
  }
}

// Run directly (node dist/bench/connectors-streams.js), not when imported by another bench.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(`bench connectors-streams: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
