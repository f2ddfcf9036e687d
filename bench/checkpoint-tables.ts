/**
 * What each checkpoint of a Nexmark DataStream job writes, by operator and state table: the
 * entries and bytes of its keyed state files (the delta's own file for an incremental
 * checkpoint, the base for a full one). Shows whether a checkpoint's size follows what changed
 * in its interval or what the job holds (a table whose one stored value grows, such as the
 * timers of a key group, is rewritten whole in every delta that touches it).
 *
 *   node dist/bench/checkpoint-tables.js [--query q19] [--events 300000] [--parallelism 2]
 *        [--interval 1000] [--full]
 *
 * A table's bytes are its entries encoded one by one (msgpack of [key, value]): near what the
 * chunk holds, and comparable between tables. One run, exactly-once; not a speed figure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'msgpackr';
import { runJob } from '../core/index.js';
import { CheckpointStorage } from '../core/checkpoint/storage.js';
import type { StateFileHandle } from '../core/checkpoint/metadata.js';
import { forEachKeyGroupChunk, type KeyGroupIndex } from '../core/state/snapshot-format.js';
import { stopIdlePools } from '../core/runtime/pool.js';
import { failWith, nexmarkJob, parseFlags, positiveInt } from './flags.js';

const fail = failWith('checkpoint-tables');
const { values: o } = parseFlags(
  {
    options: {
      query: { type: 'string', default: 'q19' },
      events: { type: 'string', default: '300000' },
      parallelism: { type: 'string', default: '2' },
      interval: { type: 'string', default: '1000' },
      full: { type: 'boolean', default: false },
    },
  },
  fail,
);
const job = nexmarkJob(o.query!, fail);
const events = positiveInt('events', o.events, fail)!;
const parallelism = positiveInt('parallelism', o.parallelism, fail)!;
const intervalMs = positiveInt('interval', o.interval, fail)!;

const dir = mkdtempSync(join(tmpdir(), 'eddy-chktables-'));
try {
  const res = await runJob(job, {
    parallelism,
    mode: 'exactly-once',
    checkpointIntervalMs: intervalMs,
    incremental: !o.full,
    checkpointDir: dir,
    retainedCheckpoints: 1000,
    args: { events: String(events), rate: '10000000' },
  });
  const storage = new CheckpointStorage(dir);
  const entries = (await storage.scan())
    .flatMap((e) => (e.status === 'complete' ? [{ id: e.id, metadata: e.metadata }] : []))
    .sort((a, b) => a.id - b.id);
  console.log(`${o.query}, ${events} events, parallelism ${parallelism}, ${o.full ? 'full' : 'incremental'} every ${intervalMs} ms`);
  for (const e of entries) {
    const stats = res.checkpoints?.find((s) => s.id === e.id);
    const own = `chk-${e.id}/`;
    const tables = new Map<string, { entries: number; bytes: number }>();
    let fileBytes = 0;
    const count = async (file: StateFileHandle, index: KeyGroupIndex, uid: string) => {
      // Only the files this checkpoint wrote (an incremental one refers to older ones too).
      if (!file.file.startsWith(own)) return;
      fileBytes += file.bytes;
      const data = await storage.readStateFile(file);
      const add = (ref: unknown, entries: number, bytes: number) => {
        const name = `${uid} ${tablesOf[ref as number][0]}`;
        const t = tables.get(name) ?? { entries: 0, bytes: 0 };
        t.entries += entries;
        t.bytes += bytes;
        tables.set(name, t);
      };
      let tablesOf: [string, string][] = [];
      forEachKeyGroupChunk([{ data, index }], { start: 0, end: Number.MAX_SAFE_INTEGER }, (_kg, chunk) => {
        tablesOf = chunk.tables;
        for (let i = 0; i < chunk.entries.length; i += 3) {
          const value = chunk.entries[i + 2];
          const map = Array.isArray(value) && chunk.tables[chunk.entries[i] as number][1] === 'map';
          add(chunk.entries[i], map ? (value as unknown[]).length : 1, pack([chunk.entries[i + 1], value]).length);
        }
        // A map changed entry by entry (version 4 delta): its entries set and removed.
        const changes = chunk.entryChanges ?? [];
        for (let i = 0; i < changes.length; i += 4) {
          const puts = changes[i + 2] as unknown[];
          const removed = changes[i + 3] as unknown[];
          add(changes[i], puts.length + removed.length, pack([changes[i + 1], puts, removed]).length);
        }
      });
    };
    for (const op of e.metadata.operators)
      for (const st of op.subtasks) {
        if (st.keyed === undefined) continue;
        await count(st.keyed.file, st.keyed.index, op.uid);
        for (const d of st.keyed.deltas ?? []) await count(d.file, d.index, op.uid);
      }
    const head = `chk ${e.id}${stats?.final ? ' (final)' : ''}: ${(fileBytes / 1e6).toFixed(2)} MB keyed`;
    const parts = [...tables].map(([n, t]) => `${n} ${t.entries} entries ${(t.bytes / 1e6).toFixed(2)} MB`);
    console.log(
      `${head}${stats ? `, sync ${stats.syncMs.toFixed(1)} ms, async ${stats.asyncMs.toFixed(1)} ms` : ''}\n    ${parts.join('\n    ')}`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  await stopIdlePools();
}
