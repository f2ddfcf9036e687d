// The commands against a running eddy process: `eddy savepoint DIR` while it runs (the job
// goes on), `eddy stop --with-savepoint DIR` (the job ends, sinks committed), `eddy
// checkpoints DIR` listing both savepoints intact, then `eddy run --from-savepoint` at another
// parallelism finishing the job: the committed output of both runs is the fault-free one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cliPath, fixture } from '../helpers/paths.js';
import { compareWithFaultFree, readCommitted } from '../helpers/validating-output.js';
import { startReachableCli } from '../helpers/cli-run.js';

const COUNT = 400_000;
const KEYS = 120;

const eddy = (args: string[]) => spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', timeout: 120_000 });

describe('eddy savepoint / stop --with-savepoint / checkpoints against a running job', () => {
  it('savepoint while running, stop with a savepoint, list them, resume at parallelism 3', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-spcli-'));
    const chk = join(dir, 'chk');
    const out = join(dir, 'out');
    const common = ['--no-progress', '--arg', `count=${COUNT}`, '--arg', `keys=${KEYS}`, '--arg', `output=${out}`];
    try {
      const { exit } = await startReachableCli([
        'run',
        fixture('validating.mjs'),
        '--parallelism',
        '2',
        '--checkpoint-dir',
        chk,
        '--checkpoint-interval',
        '200',
        '--arg',
        'rate=100000',
        ...common,
      ]);
      await new Promise((r) => setTimeout(r, 700));
      const sp = eddy(['savepoint', chk]);
      assert.equal(sp.status, 0, sp.stderr);
      const first = sp.stdout.trim();
      assert.match(first, /savepoints\/savepoint-\d+-\d{8}T\d{6}Z$/);

      await new Promise((r) => setTimeout(r, 700));
      const stop = eddy(['stop', '--with-savepoint', chk]);
      assert.equal(stop.status, 0, stop.stderr);
      const last = stop.stdout.trim();
      const { code, stderr } = await exit;
      assert.equal(code, 0, stderr);
      assert.match(stderr, /job stopped in/);
      assert.ok(stderr.includes(`stopped with savepoint ${last}`), stderr);
      const before = readCommitted(out).length;
      assert.ok(before > 0 && before < COUNT, `stopped part-way: ${before}`);

      const listed = eddy(['checkpoints', chk]);
      assert.equal(listed.status, 0, listed.stdout);
      for (const p of [first, last])
        assert.match(listed.stdout, new RegExp(`savepoint\\s+intact\\s.*${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));

      // Nothing answers in the directory any more.
      const gone = eddy(['savepoint', chk]);
      assert.equal(gone.status, 1);
      assert.match(gone.stderr, /\[JOB_NOT_RUNNING\]/);

      const resumed = eddy([
        'run',
        fixture('validating.mjs'),
        '--parallelism',
        '3',
        '--from-savepoint',
        last,
        '--checkpoint-interval',
        '200',
        '--checkpoint-dir',
        join(dir, 'chk2'),
        ...common,
      ]);
      assert.equal(resumed.status, 0, resumed.stderr);
      assert.deepEqual(compareWithFaultFree(readCommitted(out), COUNT, KEYS), { lost: 0, duplicated: 0, wrong: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
