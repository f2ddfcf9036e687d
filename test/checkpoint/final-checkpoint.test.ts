// The final checkpoint of a bounded job keeps no keyed state (Flink's fully finished operators,
// FLIP-147): every operator has processed all its input and its end of input when it takes the
// final barrier, so its keyed state can produce no more output. A keyed window sum and a keyed
// running sum (test/fixtures/jobs/final-checkpoint.mjs), exactly-once into the two-phase-commit
// file sink, on the heap with full snapshots and on LMDB with incremental ones (the windows'
// state is empty at the end anyway, fired windows are cleared: the running sums show it):
//   - the final checkpoint's folder holds no keyed state file and its `_metadata` names none
//     and says `finished`, while a periodic checkpoint's keyed files hold state (the files are
//     read, not the engine's summary);
//   - SIGKILL between the final checkpoint's `_metadata` and the sinks' commit (the fixture's
//     sinks stop in commit once the newest checkpoint is a final one), then `--resume latest`,
//     at the same and at another parallelism: the sinks re-commit what they sealed, the
//     operators start empty and emit nothing more, a new final checkpoint follows, and the
//     committed output equals a reference computed here, nothing lost, nothing twice.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cliPath, fixture } from '../helpers/paths.js';
import { jobArgs, runCli, startCli } from '../helpers/cli-run.js';
import { readCommitted } from '../helpers/validating-output.js';

const COUNT = 6000;
// Even: at parallelism 2 every key's records come from one generator subtask, in index order,
// so each key's running sum is in index order and the reference is a plain loop.
const KEYS = 8;
const WINDOW_MS = 2000;
const PARALLELISM = 2;
const KEYED = ['windows', 'running'];

interface Running {
  i: number;
  key: number;
  sum: number;
}
interface Window {
  key: number;
  start: number;
  sum: number;
}

/** The job's output from its documented semantics: record i has key i % KEYS, value (i·7919) % 1000, time 10·i. */
function reference(): { running: Running[]; windows: Window[] } {
  const sums = new Array<number>(KEYS).fill(0);
  const running: Running[] = [];
  const windows = new Map<string, Window>();
  for (let i = 0; i < COUNT; i++) {
    const key = i % KEYS;
    const v = (i * 7919) % 1000;
    sums[key] += v;
    running.push({ i, key, sum: sums[key] });
    const start = Math.floor((10 * i) / WINDOW_MS) * WINDOW_MS;
    const w = windows.get(`${key}/${start}`) ?? { key, start, sum: 0 };
    w.sum += v;
    windows.set(`${key}/${start}`, w);
  }
  return { running, windows: [...windows.values()] };
}

const byText = <T>(rows: T[]): string[] => rows.map((r) => JSON.stringify(r)).sort();

/** A state handle as `_metadata` documents it: a file, or with `offset` a piece of a task file. */
interface Handle {
  file: string;
  bytes: number;
  offset?: number;
}

interface Metadata {
  finished?: boolean;
  operators: {
    uid: string;
    subtasks: { subtask: number; keyed?: { file: Handle; deltas?: { file: Handle }[] }; operator?: Handle }[];
  }[];
}

function completedIds(chk: string): number[] {
  return readdirSync(chk)
    .filter((f) => /^chk-\d+$/.test(f) && existsSync(join(chk, f, '_metadata')))
    .map((f) => Number(f.slice(4)))
    .sort((a, b) => a - b);
}

function metadataOf(chk: string, id: number): Metadata {
  return (JSON.parse(readFileSync(join(chk, `chk-${id}`, '_metadata'), 'utf8')) as { body: Metadata }).body;
}

/** Bytes of each keyed state piece checkpoint `id` wrote (in its own folder), by `uid-subtask`. */
function keyedFiles(chk: string, id: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const op of metadataOf(chk, id).operators)
    for (const st of op.subtasks)
      for (const h of st.keyed ? [st.keyed.file, ...(st.keyed.deltas ?? []).map((d) => d.file)] : [])
        if (h.file.startsWith(`chk-${id}/`)) out.set(`${op.uid}-${st.subtask}`, (out.get(`${op.uid}-${st.subtask}`) ?? 0) + h.bytes);
  return out;
}

/** Bytes on disk in checkpoint `id`'s folder that no handle of its metadata refers to (keyed state written but not listed would show here). */
function unlistedBytes(chk: string, id: number): number {
  const dir = join(chk, `chk-${id}`);
  const onDisk = readdirSync(dir)
    .filter((f) => !f.startsWith('_') && !f.startsWith('.'))
    .reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  let listed = 0;
  for (const op of metadataOf(chk, id).operators)
    for (const st of op.subtasks) if (st.operator?.file.startsWith(`chk-${id}/`)) listed += st.operator.bytes;
  return onDisk - listed;
}

async function waitFor(done: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function runArgs(dir: string, parallelism: number, flags: string[], extra: Record<string, string | number> = {}): string[] {
  return [
    'run',
    fixture('final-checkpoint.mjs'),
    ...flags,
    '--parallelism',
    String(parallelism),
    '--mode',
    'exactly-once',
    '--checkpoint-dir',
    join(dir, 'chk'),
    '--checkpoint-interval',
    '100',
    '--retained-checkpoints',
    '1000',
    '--no-progress',
    ...jobArgs({ count: COUNT, keys: KEYS, rate: 5000, output: join(dir, 'out'), chk: join(dir, 'chk'), ...extra }),
  ];
}

/**
 * Runs the job until both windows sinks stop in their commit of the final checkpoint. The last
 * windows fire at the end of input, so the windows sink has a transaction to commit there,
 * unless a periodic checkpoint raced the end: triggered after the last source ended and before
 * the coordinator heard of it, its barrier follows the last windows, it commits them, and the
 * final transaction is empty and not committed at all (the running sums' may be empty the same
 * way). The job then ends without stopping; that run is put aside and the job run again.
 */
async function stoppedInFinalCommit(
  flags: string[],
  attempts = 4,
): Promise<{ dir: string; chk: string; child: ReturnType<typeof startCli>['child']; exit: ReturnType<typeof startCli>['exit'] }> {
  const raced: string[] = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-final-ckpt-'));
    const chk = join(dir, 'chk');
    const pause = join(dir, 'pause');
    mkdirSync(pause);
    const { child, exit } = startCli(runArgs(dir, PARALLELISM, flags, { pause }));
    const stopped = () => readdirSync(pause).filter((f) => f.startsWith('windows-')).length;
    let ended: Awaited<typeof exit> | undefined;
    void exit.then((e) => (ended = e));
    try {
      await waitFor(() => ended !== undefined || stopped() === PARALLELISM, 'the windows sink to stop in its final commit', 120_000);
    } catch (err) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    if (ended === undefined) return { dir, chk, child, exit };
    const e: Awaited<typeof exit> = ended;
    // Anything but a clean end is a failure of its own, not the race.
    const last = completedIds(chk).at(-1);
    const racedEnd = e.code === 0 && last !== undefined && metadataOf(chk, last).finished === true && stopped() === 0;
    rmSync(dir, { recursive: true, force: true });
    assert.ok(racedEnd, `the job ended before its sinks committed the final checkpoint (exit ${e.code}, ${e.signal}): ${e.stderr}`);
    raced.push(`attempt ${attempt}: ended in ${/finished in (\S+)/.exec(e.stderr)?.[1] ?? '?'} with no final windows to commit`);
  }
  assert.fail(`a periodic checkpoint raced the end of input in every attempt (${raced.join('; ')})`);
}

describe('the final checkpoint of a bounded job', () => {
  const cases = [
    { flags: [] as string[], resumeAt: PARALLELISM },
    { flags: ['--state', 'lmdb', '--incremental'], resumeAt: 3 },
  ];
  for (const { flags, resumeAt } of cases) {
    it(`${flags.join(' ') || 'heap, full'}: holds no keyed state; killed before the sinks commit it and resumed at parallelism ${resumeAt}, the output is exact`, async () => {
      const { dir, chk, child, exit } = await stoppedInFinalCommit(flags);
      try {
        // Every sink stopped in its commit: the newest checkpoint is the final one.
        const ids = completedIds(chk);
        const final = ids[ids.length - 1];
        const m = metadataOf(chk, final);
        assert.equal(m.finished, true, 'the final checkpoint says finished');
        for (const uid of KEYED) {
          const op = m.operators.find((o) => o.uid === uid);
          assert.ok(op === undefined || op.subtasks.every((s) => s.keyed === undefined), `${uid}: no keyed handle in the final checkpoint`);
        }
        assert.deepEqual([...keyedFiles(chk, final)], [], 'no keyed state piece in the final checkpoint');
        assert.equal(unlistedBytes(chk, final), 0, 'the final checkpoint wrote nothing but operator state');
        // Operator state stays: the source's position, the sinks' sealed transactions.
        for (const uid of ['events', 'windows-sink', 'running-sink'])
          assert.ok(
            m.operators.some((o) => o.uid === uid && o.subtasks.length === PARALLELISM),
            `${uid}'s operator state is in the final checkpoint`,
          );
        // A periodic checkpoint before it holds both operators' keyed state, in files with bytes.
        const periodic = ids.slice(0, -1).filter((id) => metadataOf(chk, id).finished !== true);
        assert.ok(periodic.length > 0, 'periodic checkpoints were taken');
        const last = keyedFiles(chk, periodic[periodic.length - 1]);
        for (const uid of KEYED)
          assert.ok(
            [...last].some(([f, bytes]) => f.startsWith(`${uid}-`) && bytes > 0),
            `${uid}'s keyed state is in periodic checkpoint ${periodic[periodic.length - 1]}: ${[...last.keys()].join(', ')}`,
          );

        // `eddy checkpoints --json` says which one is finished.
        const listed = spawnSync(process.execPath, [cliPath, 'checkpoints', chk, '--json'], { encoding: 'utf8' });
        const infos = JSON.parse(listed.stdout) as { id: number; finished?: boolean }[];
        assert.deepEqual(
          infos.filter((i) => i.finished === true).map((i) => i.id),
          [final],
        );

        const want = reference();
        const before = readCommitted<Window>(join(dir, 'out', 'windows'));
        assert.ok(before.length < want.windows.length, 'the kill lands before the final transactions are committed');

        child.kill('SIGKILL');
        assert.equal((await exit).signal, 'SIGKILL');

        const resumed = await runCli([...runArgs(dir, resumeAt, flags), '--resume', 'latest']);
        assert.equal(resumed.code, 0, resumed.stderr);
        assert.match(resumed.stderr, new RegExp(`restored checkpoint ${final}\\b`));

        assert.deepEqual(byText(readCommitted<Running>(join(dir, 'out', 'running'))), byText(want.running));
        assert.deepEqual(byText(readCommitted<Window>(join(dir, 'out', 'windows'))), byText(want.windows));
        // The resumed run ended with a final checkpoint of its own, as empty of keyed state.
        const after = completedIds(chk);
        const again = after[after.length - 1];
        assert.ok(again > final && metadataOf(chk, again).finished === true, 'a new final checkpoint after the resume');
        assert.deepEqual([...keyedFiles(chk, again)], []);
        assert.equal(unlistedBytes(chk, again), 0);
      } finally {
        // A failed assertion leaves the job stopped in its commit.
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
