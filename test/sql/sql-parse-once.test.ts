/**
 * SQL is parsed once per job, in the main thread: its build records the statements it parsed
 * in the job's build notes, each task spec carries them, and a worker's build of the same job
 * takes them from there (core/sql/parse-once.ts). The plan a worker builds is the main thread's
 * (same fingerprint, same uids, so savepoints restore into the same query), and a text the notes
 * do not hold is still parsed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { runJob } from '../../core/index.js';
import { planJob } from '../../core/runtime/job-plan.js';
import { loadJob } from '../../core/runtime/module-loader.js';
import { parsesInThisThread } from '../../core/sql/parse-once.js';
import { canonRows, readJsonLinesDir } from '../helpers/json-rows.js';
import { fixture, repoRoot } from '../helpers/paths.js';

const NEXMARK_SQL = join(repoRoot, 'dist', 'examples', 'nexmark-sql', 'run.js');
const q5Args = { query: 'q5', events: '1000', rate: '10000000', sink: 'blackhole' };

describe('SQL parsed once per job', () => {
  it(
    'no worker parses: every row comes from a build that parsed nothing, and the rows are the query result',
    { timeout: 60_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'eddy-sql-parse-once-'));
      try {
        const urls = ['/a', '/checkout', '/b', '/search?q=x', '/c'];
        const clicks = Array.from({ length: 40 }, (_, i) => ({ user_id: i % 3, url: urls[i % urls.length]!, ts: 1_000_000 + i * 50 }));
        writeFileSync(join(dir, 'clicks.jsonl'), clicks.map((c) => JSON.stringify(c)).join('\n'));
        await runJob(fixture('sql-parse-probe.mjs'), {
          parallelism: 2,
          args: { input: join(dir, 'clicks.jsonl'), output: join(dir, 'out') },
        });
        // CHAR_LENGTH(url) > 6, and the worker's build parsed none of the two texts.
        const expected = clicks.filter((c) => c.url.length > 6).map((c) => ({ user_id: c.user_id, url: c.url, parsed: 0 }));
        assert.deepEqual(canonRows(readJsonLinesDir(join(dir, 'out'))), canonRows(expected));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it("a worker's build of Nexmark q5 from the main thread's notes parses nothing and plans the same graph", async () => {
    const def = await loadJob(NEXMARK_SQL);
    const before = parsesInThisThread();
    const main = planJob(def, q5Args, { parallelism: 2 });
    // ddl_gen.sql, ddl_views.sql and q5.sql: one env.sql call each.
    assert.equal(parsesInThisThread() - before, 3);
    // The notes cross threads in the task spec: structured-cloned.
    const notes = structuredClone(main.notes);
    const replayed = planJob(def, q5Args, { parallelism: 2 }, notes);
    assert.equal(parsesInThisThread() - before, 3, 'the replay parsed');
    assert.equal(replayed.fingerprint, main.fingerprint);
    assert.deepEqual(
      replayed.graph.nodes.map((n) => n.uid),
      main.graph.nodes.map((n) => n.uid),
    );
  });

  it('a text the notes do not hold is parsed, and the build is still checked by its fingerprint', async () => {
    const def = await loadJob(NEXMARK_SQL);
    const notes = structuredClone(planJob(def, q5Args, { parallelism: 2 }).notes);
    const before = parsesInThisThread();
    // Other events: the DDL text differs (its EVENTS_NUM), the views and the query do not.
    const other = planJob(def, { ...q5Args, events: '2000' }, { parallelism: 2 }, notes);
    assert.equal(parsesInThisThread() - before, 3, 'the first text differs, so every later one is parsed in order');
    assert.equal(other.fingerprint, planJob(def, { ...q5Args, events: '2000' }, { parallelism: 2 }).fingerprint);
  });
});
