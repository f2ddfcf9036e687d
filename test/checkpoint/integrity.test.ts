// A damaged checkpoint is never used: a flipped byte, a truncated state file, a deleted
// _metadata, a damaged savepoint — each is refused with the file named (and, for content, the
// expected and actual checksum), before any task starts, and the earlier checkpoints are left
// byte for byte as they were. Falling back to an older checkpoint happens only when asked
// (--fallback-to-older), and is reported.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runJob, type RunOptions } from '../../core/index.js';
import { EddyError } from '../../core/failure.js';
import { cliPath, fixture } from '../helpers/paths.js';
import { compareWithFaultFree, readCommitted } from '../helpers/validating-output.js';

const COUNT = 100_000;
const KEYS = 60;
const JOB = fixture('validating.mjs');

/** Hash of every file under each chk-N of `dir`, by checkpoint. */
function fingerprints(dir: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const d of readdirSync(dir).filter((n) => n.startsWith('chk-'))) {
    const h = createHash('sha256');
    for (const f of readdirSync(join(dir, d)).sort()) h.update(f).update(readFileSync(join(dir, d, f)));
    m.set(d, h.digest('hex'));
  }
  return m;
}

function ids(dir: string): number[] {
  return readdirSync(dir)
    .filter((n) => n.startsWith('chk-'))
    .map((n) => Number(n.slice(4)))
    .sort((a, b) => a - b);
}

/**
 * The biggest state file of a checkpoint: the keyed state of the running sum, or in the final
 * checkpoint, which keeps no keyed state, a sink's operator state.
 */
function stateFile(dir: string, id: number): string {
  const d = join(dir, `chk-${id}`);
  const files = readdirSync(d).filter((f) => !f.startsWith('_'));
  files.sort((a, b) => statSync(join(d, b)).size - statSync(join(d, a)).size);
  return join(d, files[0]);
}

describe('checkpoint integrity', () => {
  const root = mkdtempSync(join(tmpdir(), 'eddy-integrity-'));
  const pristine = join(root, 'pristine');
  let n = 0;
  const options = (chk: string, extra: RunOptions = {}): RunOptions => ({
    parallelism: 2,
    checkpointDir: chk,
    checkpointIntervalMs: 100,
    args: { count: String(COUNT), keys: String(KEYS), output: join(root, `out-${n++}`) },
    ...extra,
  });

  before(async () => {
    // A finished run leaves its newest three checkpoints (the final one last).
    await runJob(JOB, {
      ...options(pristine),
      args: { count: String(COUNT), keys: String(KEYS), rate: '100000', output: join(root, 'out-pristine') },
    });
    assert.equal(ids(pristine).length, 3, `three retained checkpoints: ${ids(pristine)}`);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  /** A copy of the pristine checkpoints, damaged by `damage(dir, newestId)`. */
  function damaged(damage: (dir: string, newest: number) => void): { dir: string; newest: number; before: Map<string, string> } {
    const dir = join(root, `case-${n++}`);
    cpSync(pristine, dir, { recursive: true });
    const newest = ids(dir).at(-1)!;
    const before = fingerprints(dir);
    damage(dir, newest);
    return { dir, newest, before };
  }

  function earlierUntouched(dir: string, newest: number, before: Map<string, string>): void {
    const afterwards = fingerprints(dir);
    for (const [d, h] of before) if (d !== `chk-${newest}`) assert.equal(afterwards.get(d), h, `${d} was changed`);
  }

  it('a flipped byte in a state file: refused, naming the file and both checksums', async () => {
    let file = '';
    const c = damaged((dir, newest) => {
      file = stateFile(dir, newest);
      const bytes = readFileSync(file);
      bytes[Math.floor(bytes.length / 2)] ^= 0x40;
      writeFileSync(file, bytes);
    });
    await assert.rejects(runJob(JOB, options(c.dir, { resume: 'latest' })), (err: EddyError) => {
      assert.equal(err.code, 'CHECKPOINT_CORRUPT');
      assert.ok(err.message.includes(file), err.message);
      assert.match(err.message, /expected \d+ bytes with checksum crc32:[0-9a-f]{8}, actual \d+ bytes with checksum crc32:[0-9a-f]{8}/);
      return true;
    });
    earlierUntouched(c.dir, c.newest, c.before);
  });

  it('a truncated state file: refused, naming it', async () => {
    let file = '';
    const c = damaged((dir, newest) => {
      file = stateFile(dir, newest);
      truncateSync(file, Math.floor(statSync(file).size / 3));
    });
    await assert.rejects(
      runJob(JOB, options(c.dir, { resume: 'latest' })),
      (err: EddyError) => err.code === 'CHECKPOINT_CORRUPT' && err.message.includes(file),
    );
    earlierUntouched(c.dir, c.newest, c.before);
  });

  it('a deleted _metadata of the newest checkpoint: refused, not silently skipped', async () => {
    let meta = '';
    const c = damaged((dir, newest) => {
      meta = join(dir, `chk-${newest}`, '_metadata');
      unlinkSync(meta);
    });
    await assert.rejects(
      runJob(JOB, options(c.dir, { resume: 'latest' })),
      (err: EddyError) => err.code === 'CHECKPOINT_CORRUPT' && err.message.includes(meta),
    );
    earlierUntouched(c.dir, c.newest, c.before);
  });

  it('--fallback-to-older resumes from the newest intact checkpoint and says what it skipped', async () => {
    const c = damaged((dir, newest) => {
      const file = stateFile(dir, newest);
      const bytes = readFileSync(file);
      bytes[0] ^= 1;
      writeFileSync(file, bytes);
    });
    const warnings: string[] = [];
    const out = join(root, 'out-fallback');
    const result = await runJob(JOB, {
      ...options(c.dir, { resume: 'latest', fallbackToOlder: true, onWarning: (m) => warnings.push(m) }),
      args: { count: String(COUNT), keys: String(KEYS), output: out },
    });
    const older = ids(pristine).at(-2)!;
    assert.equal(result.restoredFrom?.checkpointId, older);
    assert.ok(
      warnings.some((w) => w.includes(`skipping checkpoint ${c.newest}`)),
      warnings.join('\n'),
    );
    // Resumed from the older checkpoint, the run commits everything after it: together with
    // what the first run had committed up to it, exactly the fault-free output. (Checked on the
    // records past that checkpoint: none duplicated, each right.)
    const resumed = readCommitted(out);
    const check = compareWithFaultFree(resumed, COUNT, KEYS);
    assert.equal(check.duplicated, 0);
    assert.equal(check.wrong, 0);
    assert.ok(resumed.length > 0);
  });

  it('a damaged savepoint is refused; eddy checkpoints marks it and exits 1', async () => {
    const c = damaged(() => {});
    const sp = join(root, 'savepoint-copy');
    cpSync(join(c.dir, `chk-${c.newest}`), join(sp, `chk-${c.newest}`), { recursive: true });
    const meta = join(sp, `chk-${c.newest}`, '_metadata');
    writeFileSync(
      meta,
      readFileSync(meta, 'utf8').replace(/"bytes": (\d+)/, (_, b: string) => `"bytes": ${Number(b) + 1}`),
    );
    await assert.rejects(
      runJob(JOB, { ...options(join(root, 'chk-sp')), fromSavepoint: join(sp, `chk-${c.newest}`) }),
      (err: EddyError) => err.code === 'CHECKPOINT_CORRUPT' && err.message.includes(meta) && /checksum mismatch/.test(err.message),
    );
    const listed = spawnSync(process.execPath, [cliPath, 'checkpoints', join(sp, `chk-${c.newest}`)], { encoding: 'utf8' });
    assert.equal(listed.status, 1);
    assert.match(listed.stdout, /corrupt/);
    assert.ok(listed.stdout.includes(meta), listed.stdout);
  });

  it('eddy checkpoints lists id, kind, time, duration and size per operator of intact checkpoints', () => {
    const listed = spawnSync(process.execPath, [cliPath, 'checkpoints', pristine], { encoding: 'utf8' });
    assert.equal(listed.status, 0, listed.stderr);
    for (const id of ids(pristine))
      assert.match(
        listed.stdout,
        new RegExp(`^${id}\\s+checkpoint\\s+intact\\s+\\d{4}-\\d\\d-\\d\\dT\\S+\\s+\\d+ ms\\s+[\\d.]+ (B|KiB|MiB)`, 'm'),
      );
    for (const uid of ['events', 'running-sum', 'sink'])
      assert.match(listed.stdout, new RegExp(`^\\s+${uid}\\s+p=2\\s+[\\d.]+ (B|KiB|MiB)$`, 'm'));
  });

  it('the cliPath refuses a damaged checkpoint with one line naming the file', () => {
    const c = damaged((dir, newest) => truncateSync(stateFile(dir, newest), 1));
    const r = spawnSync(
      process.execPath,
      [
        cliPath,
        'run',
        JOB,
        '--checkpoint-dir',
        c.dir,
        '--resume',
        'latest',
        '--arg',
        `count=${COUNT}`,
        '--arg',
        `keys=${KEYS}`,
        '--arg',
        `output=${join(root, 'out-cli')}`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /^eddy: \[CHECKPOINT_CORRUPT\] (keyed|operator) state of operator '[^']+' subtask \d+: state file .*chk-\d+\/.* is corrupt: expected \d+ bytes/m,
    );
  });
});
