// Running the eddy CLI under faults: SIGKILL at random moments after a new checkpoint, then
// `--resume latest` until the job finishes; and the one-line check for bad input.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, type CliExit as Exit } from './cli-run.js';
import { prng } from './prng.js';

export type { Exit };
export { runCli };

/** Ids of the completed checkpoints in `dir` (those with their _metadata written). */
function completed(dir: string): number[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^chk-\d+$/.test(f) && existsSync(join(dir, f, '_metadata')))
    .map((f) => Number(f.slice(4)));
}

/** Resolves once `dir` holds a completed checkpoint newer than `after` (or after 20 s). */
export async function newCheckpoint(dir: string, after: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (completed(dir).some((id) => id > after)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Resolves with the id of a completed checkpoint newer than `after` that holds in-flight data
 * (an unaligned one that stored channel state), once there is one (or undefined after 30 s).
 */
export async function newInFlightCheckpoint(dir: string, after: number): Promise<number | undefined> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const id = completed(dir).find((n) => n > after && holdsInFlightData(dir, n));
    if (id !== undefined) return id;
    await new Promise((r) => setTimeout(r, 10));
  }
  return undefined;
}

/** Whether completed checkpoint `id`'s metadata lists in-flight data (its `channels`, as documented in metadata.ts). */
function holdsInFlightData(dir: string, id: number): boolean {
  const text = readFileSync(join(dir, `chk-${id}`, '_metadata'), 'utf8');
  const channels = (JSON.parse(text) as { body: { channels?: unknown[] } }).body.channels;
  return channels !== undefined && channels.length > 0;
}

export function latestCheckpoint(dir: string): number {
  const ids = completed(dir);
  return ids.length > 0 ? Math.max(...ids) : 0;
}

/**
 * Runs `args` (an `eddy run ...` command with --checkpoint-dir `chk`) until it exits 0: the
 * first `kills` runs are SIGKILLed 0-600 ms after their first new checkpoint (mid-stream,
 * mid-checkpoint, mid-commit), each next run resumes with `--resume latest`. `duringRun` runs
 * alongside each run (e.g. to restart a server once the run has `checkpointed`).
 */
export async function runWithKills(opts: {
  args: string[];
  chk: string;
  seed: number;
  kills: number;
  duringRun?: (run: number, running: () => boolean, checkpointed: () => Promise<void>) => Promise<void>;
}): Promise<{ killed: number; restored: number }> {
  const r = prng(opts.seed);
  let killed = 0;
  let restored = 0;
  for (let run = 0; ; run++) {
    assert.ok(run < 40, 'the job finishes');
    const args = run === 0 ? opts.args : [...opts.args, '--resume', 'latest'];
    const since = latestCheckpoint(opts.chk);
    let running = true;
    const pending = runCli(args, killed < opts.kills ? Math.floor(r() * 600) : undefined, () => newCheckpoint(opts.chk, since));
    void pending.then(() => (running = false));
    if (opts.duringRun)
      await opts.duringRun(
        run,
        () => running,
        () => newCheckpoint(opts.chk, since),
      );
    const exit = await pending;
    if (exit.stderr.includes('eddy: restored checkpoint')) restored++;
    if (exit.signal === 'SIGKILL') {
      killed++;
      continue;
    }
    assert.equal(exit.code, 0, `run ${run} failed: ${exit.stderr}`);
    return { killed, restored };
  }
}

/** A failed run that printed exactly one line, `eddy: [CODE] ...`, holding each of `words`. */
export function assertOneLine(e: Exit, code: string, words: string[]): void {
  assert.notEqual(e.code, 0);
  const lines = e.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${e.stderr}`);
  assert.match(lines[0], new RegExp(`^eddy: \\[${code}\\] `));
  for (const w of words) assert.ok(lines[0].includes(w), `'${w}' missing from ${lines[0]}`);
}

/**
 * At-least-once under faults: every record arrived (none lost), and the job really was killed
 * and resumed. The duplicates are printed, not required: a replay finds nothing to repeat when
 * a kill lands right after a checkpoint.
 */
export function assertAtLeastOnce(res: { out: { i: number }[]; killed: number; restored: number }, count: number, what: string): void {
  const seen = new Set(res.out.map((o) => o.i));
  console.log(
    `at-least-once: ${res.out.length} ${what} for ${count} records, ${res.out.length - seen.size} duplicates after ${res.killed} kills`,
  );
  assert.equal(seen.size, count, 'no record lost');
  assert.ok(res.killed >= 1 && res.restored >= 1, 'the job was killed and resumed from a checkpoint');
}
