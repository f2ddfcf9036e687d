// test-lane: pair
/**
 * Bad command lines are answered with one clear line on stderr and a non-zero exit, before any
 * job is loaded. The first part spawns the built CLI; the second checks the parser in process.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { parseRunArgs } from '../../core/cli/args.js';
import { readEnvOverrides } from '../../core/runtime/env-overrides.js';
import { parseRestartSpec } from '../../core/runtime/option-values.js';
import { EddyError } from '../../core/failure.js';
import { cliPath, repoRoot } from '../helpers/paths.js';

// dist/test/cli/bad-input.test.js → the repository root is three levels up.
const root = repoRoot;
const cli = cliPath;
const job = 'test/fixtures/jobs/ok.mjs';

/** The environment without any EDDY_* variable (so the developer's shell cannot leak in). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EDDY_')) env[k] = v;
  return { ...env, ...extra };
}

function eddy(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: root, env: cleanEnv(env), encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Exit code 2 (usage error) and exactly one line on stderr, `eddy: [CODE] ...`, containing each word. */
function assertUsageError(r: ReturnType<typeof eddy>, code: string, words: string[]): void {
  assert.notEqual(r.code, 0, `expected a failure, stderr: ${r.stderr}`);
  assert.equal(r.code, 2, `usage errors exit with 2; stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, new RegExp(`^eddy: \\[${code}\\] `));
  for (const w of words) assert.ok(lines[0]!.includes(w), `'${w}' missing from: ${lines[0]}`);
  assert.equal(r.stdout, '', 'nothing on stdout');
}

describe('eddy CLI: bad input', () => {
  it('unknown flag names the flag and suggests the right one', () => {
    const r = eddy(['run', job, '--paralelism', '2']);
    assertUsageError(r, 'BAD_FLAG', ['--paralelism', '--parallelism', 'eddy run --help']);
  });

  it('bad --parallelism value names the flag, what it expects and the value', () => {
    assertUsageError(eddy(['run', job, '--parallelism', 'abc']), 'BAD_FLAG', ['--parallelism', 'positive integer', "'abc'"]);
    assertUsageError(eddy(['run', job, '--parallelism', '0']), 'BAD_FLAG', ['--parallelism', 'positive integer', "'0'"]);
    assertUsageError(eddy(['run', job, '--parallelism', '-3']), 'BAD_FLAG', ['--parallelism', "'-3'"]);
  });

  it('flag without its value', () => {
    assertUsageError(eddy(['run', job, '--parallelism']), 'BAD_FLAG', ['--parallelism', 'expects a value']);
    assertUsageError(eddy(['run', job, '--mode', '--parallelism', '2']), 'BAD_FLAG', ['--mode', 'expects a value']);
  });

  it("--arg without '='", () => {
    assertUsageError(eddy(['run', job, '--arg', 'input']), 'BAD_ARG', ['--arg', 'KEY=VALUE', "'input'"]);
  });

  it('bad --mode value lists the modes', () => {
    assertUsageError(eddy(['run', job, '--mode', 'exactly_once']), 'BAD_FLAG', [
      '--mode',
      'exactly-once',
      'at-least-once',
      "'exactly_once'",
    ]);
  });

  it('bad EDDY_PARALLELISM names the variable', () => {
    assertUsageError(eddy(['run', job], { EDDY_PARALLELISM: 'x' }), 'BAD_FLAG', ['EDDY_PARALLELISM', 'positive integer', "'x'"]);
  });

  it('bad --restart spec shows the syntax', () => {
    assertUsageError(eddy(['run', job, '--restart', 'fixed:3']), 'BAD_FLAG', ['--restart', 'fixed:ATTEMPTS:DELAY_MS', "'fixed:3'"]);
  });

  it('a boolean flag given a value', () => {
    assertUsageError(eddy(['run', job, '--incremental=yes']), 'BAD_FLAG', ['--incremental', 'no value']);
  });

  it('`eddy run` with no job', () => {
    assertUsageError(eddy(['run']), 'BAD_FLAG', ['JOB', 'eddy run']);
  });

  it('`eddy run` with two jobs', () => {
    assertUsageError(eddy(['run', job, 'extra']), 'BAD_FLAG', ["'extra'", '--arg']);
  });

  it('unknown subcommand', () => {
    assertUsageError(eddy(['rnu', job]), 'BAD_FLAG', ["'rnu'", "'run'", 'eddy --help']);
    assertUsageError(eddy(['frobnicate']), 'BAD_FLAG', ["'frobnicate'"]);
  });

  it('savepoint, stop and checkpoints: bad flags, a missing directory, no running job', () => {
    assertUsageError(eddy(['checkpoints']), 'BAD_FLAG', ['expected one directory', 'eddy checkpoints DIR']);
    assertUsageError(eddy(['stop', '--bogus', 'x']), 'BAD_FLAG', ['--bogus', 'eddy stop']);
    assertUsageError(eddy(['stop', '--target', 'sp', 'x']), 'BAD_FLAG', ['--target needs --with-savepoint']);
    const dir = join(root, 'test', 'fixtures');
    for (const cmd of [
      ['savepoint', dir],
      ['stop', '--with-savepoint', dir],
    ]) {
      const r = eddy(cmd);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr.trimEnd(), /^eddy: \[JOB_NOT_RUNNING\] no running job checkpoints to .*_control\.json does not exist/);
    }
    const missing = eddy(['checkpoints', join(root, 'no-such-dir')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^eddy: \[SAVEPOINT_NOT_FOUND\] .*no-such-dir is not a directory/);
  });

  it('eddy bench runs the suite: --help succeeds, a stray argument or unknown suite is a usage error', () => {
    const help = eddy(['bench', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--quick/);
    const stray = eddy(['bench', 'x']);
    assert.equal(stray.code, 2);
    assert.match(stray.stderr, /bench: .*'x'/);
    const unknown = eddy(['bench', '--suite', 'nope']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown suite "nope"/);
  });

  it('no command prints the help and fails; --help and --version succeed', () => {
    const none = eddy([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /eddy run JOB/);
    const help = eddy(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /eddy run JOB/);
    const runHelp = eddy(['run', '--help']);
    assert.equal(runHelp.code, 0);
    for (const flag of ['--parallelism', '--mode', '--restart', '--arg', '--no-progress', 'EDDY_PARALLELISM']) {
      assert.ok(runHelp.stdout.includes(flag), `run --help mentions ${flag}`);
    }
    const version = eddy(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+/);
  });
});

/** Runs fn and returns the EddyError it throws. */
function thrown(fn: () => unknown): EddyError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof EddyError, `expected an EddyError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected an EddyError');
}

describe('run arguments (in process)', () => {
  it('parses every flag into RunOptions', () => {
    const r = parseRunArgs(
      [
        'job.mjs',
        '--parallelism',
        '4',
        '--max-parallelism=256',
        '--mode',
        'at-least-once',
        '--checkpoint-interval',
        '1000',
        '--state',
        'lmdb',
        '--checkpoint-dir',
        'chk',
        '--incremental',
        '--restart',
        'fixed:3:100',
        '--resume',
        'latest',
        '--arg',
        'input=a=b.txt',
        '--arg=output=',
        '--buffer-timeout',
        '0',
        '--ring-capacity',
        '64k',
        '--no-progress',
      ],
      {},
    );
    assert.equal(r.help, false);
    if (r.help) return;
    assert.equal(r.jobPath, 'job.mjs');
    assert.equal(r.progress, false);
    assert.deepEqual(r.options, {
      parallelism: 4,
      maxParallelism: 256,
      mode: 'at-least-once',
      checkpointIntervalMs: 1000,
      stateBackend: 'lmdb',
      checkpointDir: 'chk',
      incremental: true,
      restart: 'fixed:3:100',
      resume: 'latest',
      args: { input: 'a=b.txt', output: '' },
      bufferTimeoutMs: 0,
      ringCapacity: 65536,
    });
  });

  it('flags win over EDDY_* variables, which fill in the rest', () => {
    const r = parseRunArgs(['job.mjs', '--parallelism', '3'], { EDDY_PARALLELISM: '8', EDDY_MODE: 'none', EDDY_INCREMENTAL: 'false' });
    assert.ok(!r.help);
    if (r.help) return;
    assert.deepEqual(r.options, { parallelism: 3, mode: 'none', incremental: false });
    assert.equal(r.progress, true);
  });

  it('--help wins over other problems', () => {
    assert.deepEqual(parseRunArgs(['--bogus', '-h'], {}), { help: true });
  });

  it('-- ends the flags', () => {
    const r = parseRunArgs(['--', '--weird-name.mjs'], {});
    assert.ok(!r.help && r.jobPath === '--weird-name.mjs');
  });

  it('rejects conflicting flags', () => {
    assert.equal(thrown(() => parseRunArgs(['j', '--from-savepoint', 's', '--resume', 'latest'], {})).code, 'BAD_FLAG');
    const e = thrown(() => parseRunArgs(['j', '--parallelism', '8'], { EDDY_MAX_PARALLELISM: '4' }));
    assert.match(e.message, /--parallelism 8 .*EDDY_MAX_PARALLELISM 4/);
  });

  it('env variables are validated like the flags', () => {
    assert.deepEqual(readEnvOverrides({}), {});
    assert.deepEqual(readEnvOverrides({ EDDY_PARALLELISM: '' }), {}, 'empty counts as unset');
    assert.deepEqual(
      readEnvOverrides({
        EDDY_PARALLELISM: '2',
        EDDY_MAX_PARALLELISM: '64',
        EDDY_MODE: 'exactly-once',
        EDDY_CHECKPOINT_INTERVAL: '500',
        EDDY_STATE: 'heap',
        EDDY_CHECKPOINT_DIR: '/tmp/c',
        EDDY_INCREMENTAL: '1',
        EDDY_RESTART: 'none',
        EDDY_BUFFER_TIMEOUT: '10',
      }),
      {
        parallelism: 2,
        maxParallelism: 64,
        mode: 'exactly-once',
        checkpointIntervalMs: 500,
        stateBackend: 'heap',
        checkpointDir: '/tmp/c',
        incremental: true,
        restart: 'none',
        bufferTimeoutMs: 10,
      },
    );
    const cases: [string, string, string][] = [
      ['EDDY_PARALLELISM', 'x', "EDDY_PARALLELISM must be a positive integer, got 'x'"],
      ['EDDY_MAX_PARALLELISM', '1.5', 'EDDY_MAX_PARALLELISM must be a positive integer'],
      ['EDDY_MODE', 'once', 'EDDY_MODE must be one of exactly-once, at-least-once, none'],
      ['EDDY_CHECKPOINT_INTERVAL', '0', 'EDDY_CHECKPOINT_INTERVAL must be a positive number of milliseconds'],
      ['EDDY_STATE', 'rocksdb', 'EDDY_STATE must be one of heap, lmdb'],
      ['EDDY_INCREMENTAL', 'maybe', 'EDDY_INCREMENTAL must be one of true, false'],
      ['EDDY_RESTART', 'fixed:a:1', 'EDDY_RESTART must be fixed:ATTEMPTS:DELAY_MS'],
      ['EDDY_BUFFER_TIMEOUT', '-1', 'EDDY_BUFFER_TIMEOUT must be a non-negative number of milliseconds'],
    ];
    for (const [name, value, msg] of cases) {
      const e = thrown(() => readEnvOverrides({ [name]: value }));
      assert.equal(e.code, 'BAD_FLAG');
      assert.ok(e.message.startsWith(msg), `${e.message} should start with ${msg}`);
      assert.ok(!e.message.includes('\n'));
    }
  });

  it('restart specs', () => {
    assert.deepEqual(parseRestartSpec('--restart', 'none'), { kind: 'none' });
    assert.deepEqual(parseRestartSpec('--restart', 'exponential'), { kind: 'exponential' });
    assert.deepEqual(parseRestartSpec('--restart', 'fixed:3:1000'), { kind: 'fixed', attempts: 3, delayMs: 1000 });
    assert.deepEqual(parseRestartSpec('--restart', 'failure-rate:5:60000'), { kind: 'failure-rate', maxFailures: 5, windowMs: 60000 });
    for (const bad of ['', 'fixed', 'fixed:1', 'fixed:1:2:3', 'fixed:-1:0', 'failure-rate:0:10', 'exponential:1', 'always']) {
      assert.equal(thrown(() => parseRestartSpec('--restart', bad)).code, 'BAD_FLAG', bad);
    }
  });

  it('ring capacity must be a power of two', () => {
    const cap = (v: string) => {
      const r = parseRunArgs(['j', '--ring-capacity', v], {});
      return r.help ? undefined : r.options.ringCapacity;
    };
    assert.equal(cap('262144'), 262144);
    assert.equal(cap('1MiB'), 1 << 20);
    assert.equal(thrown(() => cap('1000')).code, 'BAD_FLAG');
    assert.equal(thrown(() => cap('512')).code, 'BAD_FLAG');
  });
});
