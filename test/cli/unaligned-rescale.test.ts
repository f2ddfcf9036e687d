// Rescaling with in-flight data: a real `eddy run` child process of an unaligned job under
// backpressure (a slow stage behind the exchange, so its ring is full when barriers pass) is
// SIGKILLed once a checkpoint holding in-flight data is complete, then resumed with
// `--resume latest` at another parallelism, killed again the same way, and resumed at a third
// (up, then down) until it finishes. Every resumed checkpoint must hold in-flight data
// (as `eddy checkpoints --json` reports it: unaligned, inFlightBytes > 0) taken at the parallelism of the run
// before, so the stored records really were re-dealt; the committed output must equal the
// fault-free run's: nothing lost, nothing twice, and through the hash edge every key's running
// sum and sequence number as in a fault-free run (so per-key order held).
// A forward edge holding in-flight data is refused at another parallelism, in one line.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { assertOneLine, latestCheckpoint, newInFlightCheckpoint, runCli } from '../helpers/cli-faults.js';
import { inspectCheckpoints } from '../../core/checkpoint/inspect.js';
import { fixture } from '../helpers/paths.js';
import { prng } from '../helpers/prng.js';
import { compareWithFaultFree, readCommitted } from '../helpers/validating-output.js';
import { jobArgs } from '../helpers/cli-run.js';

const SOAK = process.env.EDDY_SOAK === '1';
const KEYS = 120;
const eventValue = (i: number) => (i * 7919) % 1000;

interface Resumed {
  id: number;
  /** Parallelism of the run that took it, and of the run that restored it. */
  from: number;
  to: number;
}

/**
 * Runs `base(p)` at each parallelism in turn: every run but the last is SIGKILLed as soon as a
 * new checkpoint holding in-flight data is complete; every run but the first resumes the
 * latest checkpoint. Returns what each resume restored.
 */
async function killAndRescale(chk: string, parallelisms: number[], base: (p: number) => string[]): Promise<Resumed[]> {
  const resumed: Resumed[] = [];
  for (let k = 0; k < parallelisms.length; k++) {
    const p = parallelisms[k];
    const last = k === parallelisms.length - 1;
    const after = latestCheckpoint(chk);
    let held: number | undefined;
    const exit = await runCli([...base(p), ...(k > 0 ? ['--resume', 'latest'] : [])], last ? undefined : 0, async () => {
      held = await newInFlightCheckpoint(chk, after);
    });
    if (last) assert.equal(exit.code, 0, exit.stderr);
    else {
      assert.equal(
        exit.signal,
        'SIGKILL',
        `the run at parallelism ${p} ended before a checkpoint held in-flight data (it should be backpressured): ${exit.stderr}`,
      );
      assert.ok(held !== undefined, `no checkpoint with in-flight data at parallelism ${p}`);
    }
    if (k > 0) {
      const m = /eddy: restored checkpoint (\d+) from/.exec(exit.stderr);
      assert.ok(m, `the run at parallelism ${p} restored nothing: ${exit.stderr}`);
      resumed.push({ id: Number(m[1]), from: parallelisms[k - 1], to: p });
    }
  }
  return resumed;
}

/**
 * Each resumed checkpoint is unaligned, holds in-flight bytes (as `eddy checkpoints --json`
 * reports them), and was taken at the parallelism before.
 */
async function assertInFlightRescaled(chk: string, resumed: Resumed[]): Promise<void> {
  const infos = await inspectCheckpoints(chk);
  for (const r of resumed) {
    const info = infos.find((x) => x.id === r.id);
    assert.ok(
      info && info.status === 'intact' && info.unaligned === true && (info.inFlightBytes ?? 0) > 0,
      `checkpoint ${r.id}: ${JSON.stringify(info)}`,
    );
    const body = (
      JSON.parse(readFileSync(join(chk, `chk-${r.id}`, '_metadata'), 'utf8')) as { body: { channels: { parallelism: number }[] } }
    ).body;
    assert.deepEqual(
      [...new Set(body.channels.map((c) => c.parallelism))],
      [r.from],
      `checkpoint ${r.id} was taken at parallelism ${r.from}`,
    );
    assert.notEqual(r.from, r.to);
  }
}

/**
 * In a fresh directory: `job` with `args(outputDir)` killed and rescaled through `ps`
 * (killAndRescale), the resumed checkpoints checked, then `check(outputDir)`.
 */
async function rescaledRun(job: string, ps: number[], args: (out: string) => string[], check: (out: string) => void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-ua-rescale-'));
  const chk = join(dir, 'chk');
  const out = join(dir, 'out');
  try {
    const resumed = await killAndRescale(chk, ps, (p) => [
      'run',
      fixture(job),
      '--parallelism',
      String(p),
      '--unaligned',
      '--ring-capacity',
      '64k',
      '--checkpoint-dir',
      chk,
      '--checkpoint-interval',
      '100',
      '--retained-checkpoints',
      '100',
      '--no-progress',
      ...args(out),
      // A killed process cannot remove its LMDB folder: keep it in this test's folder.
      '--local-dir',
      dir,
    ]);
    await assertInFlightRescaled(chk, resumed);
    check(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Parallelism sequences: up then down by default, random walks under EDDY_SOAK. */
function sequences(seed: number, fixed: number[]): number[][] {
  if (!SOAK) return [fixed];
  const r = prng(seed);
  return Array.from({ length: 3 }, () => {
    const s = [1 + Math.floor(r() * 4)];
    for (let k = 0; k < 4; k++) {
      let p = 1 + Math.floor(r() * 4);
      if (p === s[s.length - 1]) p = (p % 4) + 1;
      s.push(p);
    }
    return s;
  });
}

it(
  'through a hash edge: kill -9, resume at 3, kill -9, resume at 1: output of the fault-free run, per-key order kept',
  { timeout: SOAK ? 600_000 : 120_000 },
  async () => {
    const count = SOAK ? 400_000 : 150_000;
    for (const ps of sequences(11, [2, 3, 1])) {
      for (const state of SOAK ? ['heap', 'lmdb'] : ['heap']) {
        await rescaledRun(
          'validating.mjs',
          ps,
          (out) => ['--state', state, '--arg', `count=${count}`, '--arg', `keys=${KEYS}`, '--arg', 'slowUs=10', '--arg', `output=${out}`],
          (out) =>
            assert.deepEqual(
              compareWithFaultFree(readCommitted(out), count, KEYS),
              { lost: 0, duplicated: 0, wrong: 0 },
              `parallelism ${ps.join(' -> ')}, ${state}`,
            ),
        );
      }
    }
  },
);

it(
  'through a rebalance edge: kill -9, resume at 1, kill -9, resume at 3: every record committed exactly once',
  { timeout: SOAK ? 600_000 : 120_000 },
  async () => {
    const count = SOAK ? 400_000 : 150_000;
    for (const ps of sequences(12, [2, 1, 3])) {
      await rescaledRun(
        'unaligned-edges.mjs',
        ps,
        (out) => jobArgs({ edge: 'rebalance', count, keys: KEYS, slowUs: '10', output: out }),
        (out) => {
          // The fault-free run commits record i = { i, key: i % KEYS, v: eventValue(i) } once, for every i.
          const seen = new Uint8Array(count);
          let duplicated = 0;
          let wrong = 0;
          for (const o of readCommitted<{ i: number; key: number; v: number }>(out)) {
            if (seen[o.i]++ > 0) duplicated++;
            if (o.key !== o.i % KEYS || o.v !== eventValue(o.i)) wrong++;
          }
          assert.deepEqual(
            { lost: seen.filter((x) => x === 0).length, duplicated, wrong },
            { lost: 0, duplicated: 0, wrong: 0 },
            `parallelism ${ps.join(' -> ')}`,
          );
        },
      );
    }
  },
);

it(
  'event-time windows through a hash edge: kill -9, resume at 3: the committed windows are the fault-free ones (nothing fired early)',
  { timeout: SOAK ? 600_000 : 120_000 },
  async () => {
    const count = SOAK ? 200_000 : 40_000;
    const keys = 20;
    const disorder = 30;
    const jitter = (i: number) => ((i * 2654435761) >>> 0) % (disorder + 1);
    // Disorder within the watermark bound: no record is late, every window is complete.
    const expected = new Map<string, { sum: number; n: number }>();
    for (let i = 0; i < count; i++) {
      const ts = 1000 + 10 * i - jitter(i);
      const id = `${i % keys}/${Math.floor(ts / 1000) * 1000}`;
      const w = expected.get(id) ?? { sum: 0, n: 0 };
      w.sum += eventValue(i);
      w.n++;
      expected.set(id, w);
    }
    for (const ps of sequences(13, [2, 3])) {
      const args = (out: string) => jobArgs({ edge: 'window', count, keys, disorder, slowUs: '25', output: out });
      await rescaledRun('unaligned-edges.mjs', ps, args, (out) => {
        const got = new Map<string, { sum: number; n: number }>();
        let duplicated = 0;
        for (const w of readCommitted<{ key: number; start: number; sum: number; n: number }>(out)) {
          const id = `${w.key}/${w.start}`;
          if (got.has(id)) duplicated++;
          got.set(id, { sum: w.sum, n: w.n });
        }
        let lost = 0;
        let wrong = 0;
        for (const [id, w] of expected) {
          const g = got.get(id);
          if (g === undefined) lost++;
          else if (g.sum !== w.sum || g.n !== w.n) wrong++;
        }
        assert.deepEqual(
          { lost, duplicated, wrong, extra: got.size - (expected.size - lost) },
          { lost: 0, duplicated: 0, wrong: 0, extra: 0 },
          `parallelism ${ps.join(' -> ')}`,
        );
      });
    }
  },
);

it(
  'a forward edge holding in-flight data is refused at another parallelism, in one line saying to take a savepoint',
  { timeout: 120_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-ua-rescale-forward-'));
    const chk = join(dir, 'chk');
    try {
      const base = (p: number) => [
        'run',
        fixture('unaligned-edges.mjs'),
        '--parallelism',
        String(p),
        '--unaligned',
        '--ring-capacity',
        '64k',
        '--checkpoint-dir',
        chk,
        '--checkpoint-interval',
        '100',
        '--no-progress',
        ...jobArgs({ edge: 'forward', count: '150000', keys: KEYS, slowUs: '10', output: join(dir, 'out') }),
      ];
      let held: number | undefined;
      const killed = await runCli(base(2), 0, async () => {
        held = await newInFlightCheckpoint(chk, 0);
      });
      assert.equal(killed.signal, 'SIGKILL', killed.stderr);
      assert.ok(held !== undefined);
      const before = readFileSync(join(chk, `chk-${latestCheckpoint(chk)}`, '_metadata'), 'utf8');
      const refused = await runCli([...base(3), '--resume', 'latest']);
      assertOneLine(refused, 'STATE_NOT_RESTORED', [
        `in ${chk} holds in-flight data on the forward edge 'events' -> 'slow' (at parallelism 2 -> 2, the job runs 3 -> 3)`,
        'take a savepoint (always aligned, so it holds no in-flight data) and rescale from that',
      ]);
      // Refused before anything ran: the checkpoint is as it was.
      assert.equal(readFileSync(join(chk, `chk-${latestCheckpoint(chk)}`, '_metadata'), 'utf8'), before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
