// test-lane: pair
/**
 * A SQL table over a real Redis server (redis-server on 127.0.0.1, random port): INSERT INTO
 * it writes one stream entry per row, fields named as the columns, exactly-once; the entries
 * equal the rows a reference filter gives.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createClient } from '@redis/client';

import { runJob } from '../../core/index.js';
import { repoRoot } from '../helpers/paths.js';
import { hasBinary, missing, startRedis } from '../helpers/servers.js';

const HAVE = hasBinary('redis-server');
if (!HAVE) console.log(missing('redis-server'));

describe('SQL into a Redis stream', { skip: !HAVE && missing('redis-server') }, () => {
  it('INSERT INTO a redis table writes the rows as stream entries', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-sql-redis-'));
    const redis = await startRedis();
    try {
      const rows = Array.from({ length: 50 }, (_, i) => ({ id: i, city: ['Bend', 'Kent', 'Boise'][i % 3]!, price: i * 7 }));
      writeFileSync(join(dir, 'in.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n'));
      writeFileSync(
        join(dir, 'q.sql'),
        `
        CREATE TABLE src (id BIGINT, city VARCHAR, price INT) WITH ('connector' = 'filesystem', 'path' = '${join(dir, 'in.jsonl')}', 'format' = 'json');
        CREATE TABLE dst (id BIGINT, city VARCHAR, cents INT) WITH ('connector' = 'redis', 'url' = '${redis.url}', 'stream' = 'sql-out');
        INSERT INTO dst SELECT id, UPPER(city), price * 100 FROM src WHERE price > 100;
      `,
      );
      await runJob(join(repoRoot, 'dist', 'core', 'sql', 'sql-job.js'), { parallelism: 2, args: { 'sql.file': join(dir, 'q.sql') } });
      const client = createClient({ url: redis.url });
      await client.connect();
      const entries = (await client.xRange('sql-out', '-', '+')) ?? [];
      await client.close();
      const got = entries
        .map((e) => JSON.stringify({ id: Number(e.message.id), city: e.message.city, cents: Number(e.message.cents) }))
        .sort();
      const want = rows
        .filter((r) => r.price > 100)
        .map((r) => JSON.stringify({ id: r.id, city: r.city.toUpperCase(), cents: r.price * 100 }))
        .sort();
      assert.deepEqual(got, want);
    } finally {
      await redis.dispose(); // stops the server and removes its data folder
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
