// kill -9 of an unaligned job under backpressure once a checkpoint holding in-flight data is
// complete, then `eddy run --resume latest`: the committed output equals the fault-free run,
// so the stored in-flight data was replayed (a restore without it loses records). `eddy
// checkpoints --json` reports the checkpoint as unaligned with its in-flight bytes, and a
// resume at another parallelism is refused with one line saying to take a savepoint.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { cliPath, fixture } from '../helpers/paths.js';
import { compareWithFaultFree, readCommitted } from '../helpers/validating-output.js';

const COUNT = 300_000;
const KEYS = 120;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A completed checkpoint (its _metadata written) that holds in-flight data files. */
function checkpointWithInFlightData(chk: string): boolean {
  if (!existsSync(chk)) return false;
  return readdirSync(chk).some((d) => {
    if (!d.startsWith('chk-')) return false;
    const files = readdirSync(join(chk, d));
    return files.includes('_metadata') && files.some((f) => f.endsWith('-channels.bin'));
  });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
}

it('kill -9 of an unaligned job under backpressure, --resume latest: exact output; rescale refused', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-ua-kill-'));
  const chk = join(dir, 'chk');
  const out = join(dir, 'out');
  const base = (p: number) => [
    'run', fixture('validating.mjs'), '--parallelism', String(p), '--unaligned', '--ring-capacity', '64k', '--checkpoint-dir', chk,
    '--checkpoint-interval', '100', '--retained-checkpoints', '100', '--no-progress',
    '--arg', `count=${COUNT}`, '--arg', `keys=${KEYS}`, '--arg', 'slowUs=5', '--arg', `output=${out}`,
  ];
  try {
    const child = spawn(process.execPath, [cliPath, ...base(2)], { stdio: ['ignore', 'ignore', 'pipe'] });
    const end = exited(child);
    let running = true;
    void end.then(() => (running = false));
    while (running && !checkpointWithInFlightData(chk)) await sleep(20);
    assert.ok(running, 'the job ended before any checkpoint held in-flight data; it should be backpressured');
    child.kill('SIGKILL');
    assert.equal((await end).signal, 'SIGKILL');

    const list = spawnSync(process.execPath, [cliPath, 'checkpoints', chk, '--json'], { encoding: 'utf8' });
    assert.equal(list.status, 0, list.stderr);
    const infos = JSON.parse(list.stdout) as { status: string; unaligned?: boolean; inFlightBytes?: number }[];
    assert.ok(infos.some((s) => s.status === 'intact' && s.unaligned === true && (s.inFlightBytes ?? 0) > 0), list.stdout);

    const rescale = spawnSync(process.execPath, [cliPath, ...base(3), '--resume', 'latest'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(rescale.status, 1);
    assert.match(rescale.stderr, /\[STATE_NOT_RESTORED\] checkpoint \d+ in .* holds in-flight data of '.*' at parallelism 2 \(an unaligned checkpoint\); the job runs it at parallelism 3\. .*take a savepoint/);

    const resumed = spawnSync(process.execPath, [cliPath, ...base(2), '--resume', 'latest'], { encoding: 'utf8', timeout: 90_000 });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, /eddy: restored checkpoint/);
    assert.deepEqual(compareWithFaultFree(readCommitted(out), COUNT, KEYS), { lost: 0, duplicated: 0, wrong: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
