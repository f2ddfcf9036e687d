// test-lane: pair
/**
 * Problems that only the engine can see (the job module, its arguments, its input, its graph)
 * reach the user as one line `eddy: [CODE] ...` naming the culprit, with exit code 1. Plus the
 * happy paths of `eddy run`: a bounded job exits 0 with a summary, and an unbounded one stops
 * cleanly on SIGINT (exit 0, summary). Job fixtures: test/fixtures/jobs/*.mjs.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { cliPath, repoRoot } from '../helpers/paths.js';

const root = repoRoot;
const cli = cliPath;
const fixture = (name: string): string => `test/fixtures/jobs/${name}`;

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EDDY_')) env[k] = v;
  return env;
}

function eddy(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: root, env: cleanEnv(), encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Exit code 1 and exactly one `eddy: [CODE]` line on stderr containing each word. Other stderr
 * lines are tolerated only if they are not eddy's (e.g. a Node warning), so the check is on the
 * error line itself, not on whole sentences.
 */
function assertJobError(r: ReturnType<typeof eddy>, code: string, words: string[]): void {
  assert.equal(r.signal, null, `eddy was killed by ${r.signal} (timeout?); stderr:\n${r.stderr}`);
  assert.equal(r.code, 1, `expected exit code 1; stderr:\n${r.stderr}`);
  const lines = r.stderr
    .trimEnd()
    .split('\n')
    .filter((l) => l.startsWith('eddy:'));
  assert.equal(lines.length, 1, `expected one eddy: line on stderr, got:\n${r.stderr}`);
  const line = lines[0]!;
  assert.ok(line.startsWith(`eddy: [${code}] `), `expected [${code}], got: ${line}`);
  for (const w of words) assert.ok(line.includes(w), `'${w}' missing from: ${line}`);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace for an expected failure');
}

describe('eddy run: problems in the job', () => {
  it('a job path that does not exist', () => {
    assertJobError(eddy(['run', 'no/such/job.mjs']), 'JOB_NOT_FOUND', ['no/such/job.mjs']);
  });

  it('a module without a default defineJob export', () => {
    assertJobError(eddy(['run', fixture('no-default.mjs')]), 'JOB_INVALID', ['no-default.mjs', 'defineJob']);
  });

  it('a missing --arg names the argument', () => {
    assertJobError(eddy(['run', fixture('read-input.mjs')]), 'MISSING_ARG', ['--arg', 'input']);
  });

  it('a missing input file names the file', () => {
    const missing = 'test/fixtures/does-not-exist.txt';
    assert.ok(!existsSync(`${root}/${missing}`));
    assertJobError(eddy(['run', fixture('read-input.mjs'), '--arg', `input=${missing}`]), 'INPUT_NOT_FOUND', ['does-not-exist.txt']);
  });

  it('a stateful operator without uid', () => {
    assertJobError(eddy(['run', fixture('no-uid-state.mjs'), '--parallelism', '2']), 'UID_REQUIRED', ['uid', 'count']);
  });
});

describe('eddy run: jobs that work', () => {
  it('a bounded job exits 0 and prints a summary on stderr', () => {
    const r = eddy(['run', fixture('ok.mjs'), '--parallelism', '2', '--no-progress']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /eddy: job finished in /);
    for (const uid of ['src', 'upper', 'sink']) assert.match(r.stderr, new RegExp(`^\\s+${uid}\\b`, 'm'), `summary row for ${uid}`);
    assert.match(r.stderr, /checkpoints completed: \d+/);
    assert.match(r.stderr, /restarts: 0/);
    assert.doesNotMatch(r.stderr, /\r|\x1b\[/, 'no progress line when stderr is not a TTY');
  });

  it('an unbounded job stops cleanly on SIGINT: exit 0 and a summary', async () => {
    const child = spawn(process.execPath, [cli, 'run', fixture('cli-unbounded.mjs'), '--no-progress'], {
      cwd: root,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    // Wait until the job runs (its first record is printed); a failure to start ends the
    // process by itself.
    let stdout = '';
    const running = new Promise<undefined>((resolve) =>
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        if (stdout.includes('first record')) resolve(undefined);
      }),
    );
    const early = await Promise.race([exited, running]);
    assert.equal(early, undefined, `the unbounded job ended by itself:\n${stderr}`);
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const { code, signal } = await exited;
    clearTimeout(timer);
    assert.equal(signal, null, `eddy did not stop within 30 s after SIGINT:\n${stderr}`);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /SIGINT received/);
    assert.match(stderr, /eddy: job cancelled in /);
  });
});
