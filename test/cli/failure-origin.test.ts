// test-lane: pair
/**
 * A failure caused by a record names where the record came from (issue 12): when a map chained
 * to a file source throws on one line, every attempt's failure line — and JobResult.exceptions
 * — names the file, the line number and the byte offset of exactly that line, and the subtask
 * whose split holds it. The expectation is computed here from the file's bytes and the
 * documented split rule (subtask i of p reads the lines that start in
 * [floor(i·size/p), floor((i+1)·size/p))). After a keyBy the origin is not tracked: the
 * failure carries none rather than a guess.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import { cliPath, fixture, repoRoot } from '../helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'eddy-origin-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const PARALLELISM = 2;

/** Where `lines[index]` sits in the file made of `lines` joined by '\n': byte offset, 1-based line, subtask. */
function expectedOrigin(lines: string[], index: number): { offset: number; line: number; subtask: number } {
  const size = Buffer.byteLength(lines.join('\n') + '\n');
  const offset = Buffer.byteLength(
    lines
      .slice(0, index)
      .map((l) => `${l}\n`)
      .join(''),
  );
  let subtask = 0;
  while (!(Math.floor((subtask * size) / PARALLELISM) <= offset && offset < Math.floor(((subtask + 1) * size) / PARALLELISM))) subtask++;
  return { offset, line: index + 1, subtask };
}

function writeLines(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('failure lines name the failing record’s origin', () => {
  it('text file: every attempt names the file, line and byte of the line the map threw on', () => {
    // Lines of varying length, some with two-byte characters: a byte offset is not a character count.
    const lines = Array.from({ length: 3000 }, (_, i) => `rec-${i} ${'é'.repeat(i % 5)}${'x'.repeat(i % 37)}`);
    const badIndex = 2222;
    const path = writeLines('in.txt', lines);
    const want = expectedOrigin(lines, badIndex);
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EDDY_')) env[k] = v;
    // Exactly-once with frequent checkpoints: later attempts re-read the line after a restore.
    const r = spawnSync(
      process.execPath,
      [
        cliPath,
        'run',
        fixture('origin-failing.mjs'),
        '--parallelism',
        String(PARALLELISM),
        '--arg',
        `input=${path}`,
        '--arg',
        `bad=${lines[badIndex]}`,
        '--restart',
        'fixed:2:10',
        '--checkpoint-interval',
        '20',
        '--checkpoint-dir',
        join(dir, 'chk'),
        '--no-progress',
      ],
      { cwd: repoRoot, env, encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.status, 1, r.stderr);
    const attempts = r.stderr.split('\n').filter((l) => l.startsWith('eddy: attempt '));
    assert.equal(attempts.length, 3, r.stderr);
    attempts.forEach((l, i) => {
      assert.match(
        l,
        new RegExp(
          `^eddy: attempt ${i + 1} failed: \\[USER_FUNCTION_FAILED\\] ${escape(`operator 'check' subtask ${want.subtask}, record from '${path}' line ${want.line} (byte ${want.offset})`)}: `,
        ),
        l,
      );
      if (i > 0) assert.match(l, /\(same failure as attempts? 1/, l);
    });
    const final = r.stderr.split('\n').filter((l) => l.startsWith('eddy: ['));
    assert.equal(final.length, 1, r.stderr);
    assert.match(final[0]!, new RegExp(`; record from '${escape(path)}' line ${want.line} \\(byte ${want.offset}\\)$`));
  });

  it('jsonLines: JobResult.exceptions carry the origin, and blank lines count as lines', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 2000; i++) {
      lines.push(JSON.stringify({ id: `r${i}`, pad: 'y'.repeat(i % 23) }));
      if (i % 97 === 0) lines.push(''); // skipped by the parser, counted by line numbers
    }
    const bad = 'r1500';
    const badIndex = lines.findIndex((l) => l !== '' && (JSON.parse(l) as { id: string }).id === bad);
    const path = writeLines('in.jsonl', lines);
    const want = expectedOrigin(lines, badIndex);
    const printed: string[] = [];
    const result = await runJob(fixture('origin-failing.mjs'), {
      parallelism: PARALLELISM,
      mode: 'none',
      restart: 'fixed:3:10',
      args: { input: path, format: 'jsonLines', bad, failAttempts: '2' },
      onFailure: (line) => printed.push(line),
    });
    assert.equal(result.restarts, 2);
    assert.equal(result.exceptions.length, 2);
    for (const e of result.exceptions) {
      assert.equal(e.code, 'USER_FUNCTION_FAILED');
      assert.equal(e.operatorUid, 'check');
      assert.equal(e.subtask, want.subtask);
      assert.deepEqual(e.origin, { source: 'lines', split: path, offset: want.offset, line: want.line });
    }
    assert.equal(printed.length, 2);
    for (const l of printed) assert.ok(l.includes(`record from '${path}' line ${want.line} (byte ${want.offset})`), l);
    // The third attempt read every record to the sink.
    assert.equal(result.operators.find((o) => o.uid === 'sink')!.recordsIn, 2000);
  });

  it('after a keyBy the origin is not tracked: the failure carries none', async () => {
    const lines = Array.from({ length: 500 }, (_, i) => JSON.stringify({ id: `k${i}` }));
    const path = writeLines('keyed.jsonl', lines);
    const result = await runJob(fixture('origin-failing.mjs'), {
      parallelism: PARALLELISM,
      mode: 'none',
      restart: 'fixed:1:10',
      args: { input: path, format: 'jsonLines', bad: 'k250', where: 'keyed', failAttempts: '1' },
    });
    assert.equal(result.exceptions.length, 1);
    assert.equal(result.exceptions[0]!.operatorUid, 'after-keyby');
    assert.equal(result.exceptions[0]!.origin, undefined);
  });
});
