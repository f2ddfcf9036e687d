// Slot threads stay warm between the jobs of one process (core/runtime/pool.ts): the next job of
// the same shape runs on the same threads, a pool whose worker died is never handed on, and a
// kept pool does not keep the process alive.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { runJob } from '../../core/index.js';
import { IDLE_POOL_MS, stopIdlePools } from '../../core/runtime/pool.js';
import { fixture, repoRoot } from '../helpers/paths.js';

interface Tagged {
  i: number;
  thread: number;
}

const JOB = fixture('thread-ids.mjs');

function collected(res: Awaited<ReturnType<typeof runJob>>): Tagged[] {
  return res.collected.collect as Tagged[];
}

function threadsOf(records: Tagged[]): number[] {
  return [...new Set(records.map((r) => r.thread))].sort((a, b) => a - b);
}

/** Every index 0..count-1 exactly once. */
function assertExactlyIndices(records: Tagged[], count: number): void {
  const seen = new Uint8Array(count);
  for (const r of records) {
    assert.ok(r.i >= 0 && r.i < count, `index ${r.i} out of range`);
    assert.equal(seen[r.i], 0, `index ${r.i} twice`);
    seen[r.i] = 1;
  }
  assert.equal(records.length, count);
}

describe('warm slot threads between jobs', () => {
  it('the next job of the same shape runs on the same threads, and its output is its own', async () => {
    const a = collected(await runJob(JOB, { args: { count: '2000' } }));
    const b = collected(await runJob(JOB, { args: { count: '3000' } }));
    assertExactlyIndices(a, 2000);
    assertExactlyIndices(b, 3000);
    const ta = threadsOf(a);
    assert.equal(ta.length, 2, `two subtasks, two threads: ${ta}`);
    assert.ok(!ta.includes(0), 'records were mapped on worker threads, not the main thread');
    assert.deepEqual(threadsOf(b), ta);
  });

  it('after stopIdlePools the next job starts on fresh threads (what the Nexmark bench does between queries)', async () => {
    const before = threadsOf(collected(await runJob(JOB, { args: { count: '2000' } })));
    await stopIdlePools();
    const after = collected(await runJob(JOB, { args: { count: '2000' } }));
    assertExactlyIndices(after, 2000);
    const fresh = threadsOf(after);
    assert.equal(fresh.length, 2);
    assert.deepEqual(
      fresh.filter((t) => before.includes(t)),
      [],
      `threads ${before} served again: ${fresh}`,
    );
  });

  it('a smaller job runs on threads of a kept larger pool; a larger one on every kept thread and new ones for the rest', async () => {
    await stopIdlePools();
    const three = threadsOf(collected(await runJob(JOB, { args: { count: '3000', parallelism: '3' } })));
    assert.equal(three.length, 3, `three subtasks, three threads: ${three}`);
    const smaller = collected(await runJob(JOB, { args: { count: '2000', parallelism: '2' } }));
    assertExactlyIndices(smaller, 2000);
    const two = threadsOf(smaller);
    assert.equal(two.length, 2);
    for (const t of two) assert.ok(three.includes(t), `thread ${t} is not one of the kept ${three}`);
    const larger = collected(await runJob(JOB, { args: { count: '4000', parallelism: '5' } }));
    assertExactlyIndices(larger, 4000);
    const five = threadsOf(larger);
    assert.equal(five.length, 5, `five subtasks, five threads: ${five}`);
    assert.deepEqual(
      five.filter((t) => three.includes(t)),
      three,
      `the kept threads ${three} all serve the larger job: ${five}`,
    );
  });

  it('threads of a job whose worker exited are not handed to the next job', async () => {
    // Attempt 0 loses a thread (process.exit in subtask 0); attempt 1 runs in the same pool,
    // which piscina refilled. None of that pool's threads may serve the next job. No other pool
    // is kept, so the next job's threads are new.
    await stopIdlePools();
    const failed = await runJob(JOB, { restart: 'fixed:1:10', args: { count: '2000', exit: '1' } });
    assert.equal(failed.restarts, 1);
    const tainted = threadsOf(collected(failed));
    const next = collected(await runJob(JOB, { args: { count: '2000' } }));
    assertExactlyIndices(next, 2000);
    const fresh = threadsOf(next);
    assert.equal(fresh.length, 2);
    for (const t of fresh) assert.ok(!tainted.includes(t), `thread ${t} of the failed job's pool served the next job`);
    // Thread ids are never reused within a process, so fresh threads have higher ids.
    assert.ok(Math.min(...fresh) > Math.max(...tainted), `threads ${fresh} are not new (failed job: ${tainted})`);
  });

  it('a kept pool does not keep the process alive', async () => {
    const core = pathToFileURL(join(repoRoot, 'dist', 'core', 'index.js')).href;
    const script = `const { runJob } = await import(${JSON.stringify(core)});
      const r = await runJob(${JSON.stringify(JOB)}, { args: { count: '1000' } });
      console.log('done ' + r.collected.collect.length + ' ' + Date.now());`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const exitedAt = Date.now();
    assert.equal(code, 0);
    const m = /done (\d+) (\d+)/.exec(out);
    assert.ok(m, `child printed ${JSON.stringify(out)}`);
    assert.equal(Number(m[1]), 1000);
    // The pool is kept for IDLE_POOL_MS; the process must not wait for it.
    const lingered = exitedAt - Number(m[2]);
    assert.ok(lingered < IDLE_POOL_MS / 2, `the process lingered ${lingered} ms after the job (idle pool kept ${IDLE_POOL_MS} ms)`);
  });
});
