// test-lane: pair
/**
 * Issue 12, jobs that load and flags that name paths: a job in any folder imports 'eddy'
 * (.ts, .mts, .js, .mjs), a TypeScript syntax error names file, line, column and message, a
 * keyBy that returns undefined or null fails with NULL_KEY naming the keyed operator, and
 * --local-dir / --checkpoint-dir are created when missing or refused in one line.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cliPath, fixture, repoRoot } from '../helpers/paths.js';

const scratch = mkdtempSync(join(tmpdir(), 'eddy-job-loading-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EDDY_')) env[k] = v;
  return env;
}

function eddy(args: string[], cwd = repoRoot) {
  const r = spawnSync(process.execPath, [cliPath, ...args], { cwd, env: cleanEnv(), encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('eddy: ['));
}

/** A typed job that prints three words upper-cased: its output shows it really ran. */
const TYPED_JOB = `import { defineJob, Sources, Sinks } from 'eddy';
export default defineJob((env) => {
  const words: string[] = ['alpha', 'beta', 'gamma'];
  env.fromSource(Sources.fromElements(...words), 'src').uid('src')
    .map((w: string): string => 'job-' + w.toUpperCase()).uid('upper')
    .sinkTo(Sinks.print()).uid('sink');
});
`;
const PLAIN_JOB = TYPED_JOB.replace(': string[]', '').replace(/\(w: string\): string/, '(w)');

describe('jobs load from any folder', () => {
  for (const ext of ['ts', 'mts', 'js', 'mjs']) {
    it(`a .${ext} job outside the checkout imports eddy`, () => {
      const dir = mkdtempSync(join(scratch, `${ext}-`));
      writeFileSync(join(dir, `job.${ext}`), ext.endsWith('ts') ? TYPED_JOB : PLAIN_JOB);
      const r = eddy(['run', `job.${ext}`, '--parallelism', '2', '--no-progress'], dir);
      assert.equal(r.code, 0, r.stderr);
      const got = r.stdout
        .split('\n')
        .filter((l) => l.includes('job-'))
        .map((l) => l.replace(/^\d+> /, ''))
        .sort();
      assert.deepEqual(got, ['job-ALPHA', 'job-BETA', 'job-GAMMA']);
    });
  }

  it('a TypeScript syntax error names file, line, column and the message', () => {
    const dir = mkdtempSync(join(scratch, 'syntax-'));
    writeFileSync(
      join(dir, 'broken.ts'),
      "import { defineJob } from 'eddy';\nexport default defineJob((env) => {\n  const n: number = ;\n});\n",
    );
    const r = eddy(['run', 'broken.ts'], dir);
    assert.equal(r.code, 1, r.stderr);
    const lines = errorLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^eddy: \[JOB_LOAD_FAILED\] .*broken\.ts:3:20: Unexpected ";"/);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
  });
});

describe('keyBy must return a key', () => {
  for (const key of ['undefined', 'null']) {
    it(`a selector returning ${key} fails with NULL_KEY naming the keyed operator`, () => {
      const r = eddy(['run', fixture('null-key.mjs'), '--parallelism', '2', '--no-progress', '--arg', `key=${key}`]);
      assert.equal(r.code, 1, r.stderr);
      const lines = errorLines(r.stderr);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, new RegExp(`^eddy: \\[NULL_KEY\\] .*'per-user' returned ${key} for the record \\{"id":42`));
    });
  }
});

describe('path flags', () => {
  // One run checks both: each flag's folder is made on its own path (LMDB state under
  // --local-dir, checkpoints under --checkpoint-dir), so neither hides the other.
  it('--local-dir and --checkpoint-dir that do not exist are created', () => {
    const local = join(scratch, 'local', 'deeper');
    const chk = join(scratch, 'chk', 'deeper');
    const r = eddy([
      'run',
      fixture('keyed-count.mjs'),
      '--arg',
      'count=200',
      '--arg',
      'keys=3',
      '--state',
      'lmdb',
      '--local-dir',
      local,
      '--mode',
      'exactly-once',
      '--checkpoint-dir',
      chk,
      '--no-progress',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(statSync(local).isDirectory(), '--local-dir was created');
    assert.ok(existsSync(chk), '--checkpoint-dir was created');
  });

  for (const flag of ['--local-dir', '--checkpoint-dir']) {
    it(`${flag} naming a file is refused in one line`, () => {
      const file = join(scratch, `file-for${flag}`);
      writeFileSync(file, 'x');
      const extra = flag === '--local-dir' ? ['--state', 'lmdb'] : ['--mode', 'exactly-once'];
      const r = eddy(['run', fixture('keyed-count.mjs'), '--arg', 'count=10', '--arg', 'keys=3', ...extra, flag, file, '--no-progress']);
      assert.equal(r.code, 2, r.stderr);
      const lines = errorLines(r.stderr);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, new RegExp(`^eddy: \\[BAD_FLAG\\] ${flag} .* is a file`));
      assert.equal(readFileSync(file, 'utf8'), 'x');
      assert.doesNotMatch(r.stderr, /^\s+at /m);
    });
  }
});
