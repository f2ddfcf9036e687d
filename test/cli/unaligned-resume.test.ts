// kill -9 of an unaligned job under backpressure once a checkpoint holding in-flight data is
// complete, then `eddy run --resume latest`: the committed output equals the fault-free run,
// so the stored in-flight data was replayed (a restore without it loses records). `eddy
// checkpoints --json` reports the checkpoint as unaligned with its in-flight bytes. (Resuming
// at another parallelism: unaligned-rescale.test.ts.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { newInFlightCheckpoint, runCli } from '../helpers/cli-faults.js';
import { cliPath, fixture } from '../helpers/paths.js';
import { compareWithFaultFree, readCommitted } from '../helpers/validating-output.js';
import { jobArgs } from '../helpers/cli-run.js';

const COUNT = 300_000;
const KEYS = 120;

it('kill -9 of an unaligned job under backpressure, --resume latest: exact output', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-ua-kill-'));
  const chk = join(dir, 'chk');
  const out = join(dir, 'out');
  const args = [
    'run',
    fixture('validating.mjs'),
    '--parallelism',
    '2',
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
    ...jobArgs({ count: COUNT, keys: KEYS, slowUs: '5', output: out }),
  ];
  try {
    let held: number | undefined;
    const killed = await runCli(args, 0, async () => {
      held = await newInFlightCheckpoint(chk, 0);
    });
    assert.equal(
      killed.signal,
      'SIGKILL',
      `the job ended before any checkpoint held in-flight data; it should be backpressured: ${killed.stderr}`,
    );
    assert.ok(held !== undefined);

    const list = spawnSync(process.execPath, [cliPath, 'checkpoints', chk, '--json'], { encoding: 'utf8' });
    assert.equal(list.status, 0, list.stderr);
    const infos = JSON.parse(list.stdout) as { status: string; unaligned?: boolean; inFlightBytes?: number }[];
    assert.ok(
      infos.some((s) => s.status === 'intact' && s.unaligned === true && (s.inFlightBytes ?? 0) > 0),
      list.stdout,
    );

    const resumed = await runCli([...args, '--resume', 'latest']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /eddy: restored checkpoint/);
    assert.deepEqual(compareWithFaultFree(readCommitted(out), COUNT, KEYS), { lost: 0, duplicated: 0, wrong: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
