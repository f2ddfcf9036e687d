// Sources.directory: files that appear while the job runs are each read once, exactly once
// across injected failures (a user function that throws, a worker that exits), bad lines
// dead-lettered once with file, offset and line number; files under
// in-progress names are never read; bounded mode ends after the files present.
// The expectation is the set of records written into the files by this test.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { directory } from '../../core/connectors/sources/directory.js';
import type { ConnectorContext, SourceReader } from '../../core/connectors/types.js';
import { runJob } from '../../core/runtime/job-run.js';
import { prng } from '../helpers/prng.js';
import { fixture } from '../helpers/paths.js';
import { readCommitted } from '../helpers/validating-output.js';

interface Rec {
  f: number;
  i: number;
}

const LINES_PER_FILE = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const key = (r: Rec) => r.f * 1e6 + r.i;

/** The dead letter expected for a bad line: its file, byte offset and 1-based number. */
interface Dead {
  line: string;
  file: string;
  offset: number;
  lineNumber: number;
}

/**
 * Writes file f under an in-progress name, then renames it into place (complete at once).
 * With `bad`, line f % LINES_PER_FILE is not JSON; it goes into `dead` with its position.
 */
function addFile(dir: string, f: number, bad?: Dead[]): Rec[] {
  const recs = Array.from({ length: LINES_PER_FILE }, (_, i) => ({ f, i }));
  const lines = recs.map((r) => JSON.stringify(r));
  const gz = f % 4 === 3;
  const name = `part-${String(f).padStart(3, '0')}.jsonl${gz ? '.gz' : ''}`;
  if (bad) {
    const at = (f * 37) % LINES_PER_FILE;
    const offset = lines.slice(0, at).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    bad.push({ line: `{"f":${f},"broken`, file: join(dir, name), offset, lineNumber: at + 1 });
    lines.splice(at, 1, `{"f":${f},"broken`);
    recs.splice(at, 1);
  }
  const text = lines.join('\n') + '\n';
  writeFileSync(join(dir, `.${name}.tmp`), gz ? gzipSync(text) : text);
  renameSync(join(dir, `.${name}.tmp`), join(dir, name));
  return recs;
}

describe('Sources.directory', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'eddy-dir-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  // Parallelism 2 (several readers, dead letters) in `npm test`; EDDY_SOAK=1 adds 1.
  for (const p of process.env.EDDY_SOAK === '1' ? [1, 2] : [2]) {
    it(`parallelism ${p}: files added while running, two failures in between, every line once${p === 2 ? ', bad lines dead-lettered once' : ''}`, async () => {
      const input = join(root, `in-${p}`);
      const out = join(root, `out-${p}`);
      const deadDir = join(root, `dead-${p}`);
      const chk = join(root, `chk-${p}`);
      const bad: Dead[] | undefined = p === 2 ? [] : undefined;
      mkdirSync(input);
      // Never complete: a dot-file and a .tmp file are not read.
      writeFileSync(join(input, '.hidden.jsonl'), '{"f":-1,"i":0}\n');
      writeFileSync(join(input, 'writing.jsonl.tmp'), '{"f":-2,"i":0}\n');
      const expected: Rec[] = [];
      for (let f = 0; f < 3; f++) expected.push(...addFile(input, f, bad));
      const stop = new AbortController();
      const job = runJob(
        fixture('file-sources.mjs'),
        {
          parallelism: p,
          mode: 'exactly-once',
          checkpointIntervalMs: 50,
          checkpointDir: chk,
          restart: 'fixed:10:10',
          args: {
            format: 'directory',
            fileFormat: 'jsonLines',
            input,
            output: out,
            faults: 'map@150,exit@150',
            ...(bad ? { dead: deadDir } : {}),
          },
        },
        { signal: stop.signal },
      );
      let failed: unknown;
      job.catch((err) => (failed = err));
      // The first fault is armed by the first completed checkpoint: keep adding files until
      // 8 were added after it (a loaded machine may take a while to complete it).
      let afterCheckpoint = 0;
      for (let f = 3; f < 200 && (f < 15 || afterCheckpoint < 8) && failed === undefined; f++) {
        await sleep(120);
        expected.push(...addFile(input, f, bad));
        if (existsSync(join(chk, '_latest'))) afterCheckpoint++;
      }
      // Wait until the committed output holds every record (or the job failed, or 40 s).
      const deadline = Date.now() + 40_000;
      const committed = () => readCommitted<Rec>(out);
      while (Date.now() < deadline && failed === undefined) {
        mkdirSync(out, { recursive: true });
        if (committed().length >= expected.length) break;
        await sleep(100);
      }
      await sleep(300); // a duplicate committed late would show
      stop.abort();
      const result = await job;
      assert.equal(result.restarts, 2, 'both faults fired');
      const sort = (xs: Rec[]) => [...xs].sort((a, b) => key(a) - key(b));
      assert.deepEqual(sort(committed()), sort(expected));
      if (bad) {
        const byOffset = (xs: Dead[]) => [...xs].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.offset - b.offset));
        const dead = readCommitted<Dead>(deadDir).map((d) => ({ line: d.line, file: d.file, offset: d.offset, lineNumber: d.lineNumber }));
        assert.deepEqual(byOffset(dead), byOffset(bad));
      }
    });
  }

  it('bounded: reads the files present and ends; a pattern picks the names', async () => {
    const input = join(root, 'bounded');
    const out = join(root, 'out-bounded');
    mkdirSync(input);
    const expected: Rec[] = [];
    for (let f = 0; f < 6; f++) expected.push(...addFile(input, f));
    writeFileSync(join(input, 'notes.txt'), 'not json\n');
    const result = await runJob(fixture('file-sources.mjs'), {
      parallelism: 2,
      mode: 'exactly-once',
      checkpointIntervalMs: 50,
      args: { format: 'directory', fileFormat: 'jsonLines', input, output: out, bounded: 'true', pattern: '*.jsonl*' },
    });
    assert.equal(result.cancelled, false);
    const sort = (xs: Rec[]) => [...xs].sort((a, b) => key(a) - key(b));
    assert.deepEqual(sort(readCommitted<Rec>(out)), sort(expected));
    assert.deepEqual(result.operators.find((o) => o.uid === 'in')!.parse, { parsed: expected.length, skipped: 0, deadLettered: 0 });
  });

  it('rescale 2 -> 3 from snapshots taken mid-file: every line once', async () => {
    const input = join(root, 'rescale');
    mkdirSync(input);
    const expected: Rec[] = [];
    for (let f = 0; f < 10; f++) expected.push(...addFile(input, f));
    const source = directory<Rec>(input, { format: 'jsonLines', pollMs: 1, bounded: true });
    const ctx = (i: number, p: number): ConnectorContext => ({
      subtaskIndex: i,
      parallelism: p,
      operatorUid: 'in',
      attempt: 0,
      report() {},
    });
    const got: Rec[] = [];
    const out = { collect: (r: Rec) => void got.push(r) };
    const random = prng(3);
    // Old subtasks read part of their files (small polls stop mid-file), then snapshot.
    const states: unknown[] = [];
    for (let i = 0; i < 2; i++) {
      const r: SourceReader<Rec> = await source.createReader(ctx(i, 2));
      await r.open!();
      const polls = 3 + Math.floor(random() * 8);
      for (let k = 0; k < polls; k++) if ((await r.poll(out, 37)) === 'end') break;
      states.push(r.snapshotState!());
      await r.close!();
    }
    for (let i = 0; i < 3; i++) {
      const r: SourceReader<Rec> = await source.createReader(ctx(i, 3));
      r.restoreState!(states);
      await r.open!();
      while ((await r.poll(out, 50)) !== 'end') await sleep(1);
      await r.close!();
    }
    const sort = (xs: Rec[]) => [...xs].sort((a, b) => key(a) - key(b));
    assert.deepEqual(sort(got), sort(expected));
  });

  it('a missing directory is one clear error before anything runs', async () => {
    await assert.rejects(
      runJob(fixture('file-sources.mjs'), {
        args: { format: 'directory', fileFormat: 'text', input: join(root, 'nope'), output: join(root, 'x') },
      }),
      (err: { code: string; message: string }) => err.code === 'INPUT_NOT_FOUND' && err.message.includes('nope'),
    );
  });
});
