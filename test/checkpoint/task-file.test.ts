// One checkpoint file per task (task files, after Flink's FLIP-306 file merging). Checked
// against the documented layout (core/checkpoint/task-file.ts, metadata.ts): a piece's handle is
// { file, offset, bytes, checksum }, the pieces lie one after the other with nothing between, and
// each checksum is the CRC-32 of its piece alone.
//   - storage: pieces written as one file read back exactly by offset; a truncated file or a
//     flipped byte is refused for the pieces it breaks, in one line naming the file; a file
//     still referred to by a later incremental checkpoint survives pruning; a savepoint restores
//     after the checkpoint folder is gone.
//   - a job (heap unaligned, LMDB incremental aligned) writes one file per task per checkpoint,
//     and a failure restored from those files gives exactly the fault-free output.
//   - a checkpoint written the old way (a file per piece, no offsets; built here from a new one
//     by the documented formats) still restores, and exactly.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { runJob } from '../../core/index.js';
import { EddyError } from '../../core/failure.js';
import { CheckpointStorage } from '../../core/checkpoint/storage.js';
import { TaskFile } from '../../core/checkpoint/task-file.js';
import { writeSavepoint } from '../../core/checkpoint/savepoint.js';
import type { CheckpointMetadata, StateFileHandle } from '../../core/checkpoint/metadata.js';
import { fixture } from '../helpers/paths.js';
import { compareWithFaultFree, readCommitted } from '../helpers/validating-output.js';

const root = mkdtempSync(join(tmpdir(), 'eddy-task-file-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `case-${n++}`);

/** The documented checksum: `crc32:` and 8 lowercase hex digits of zlib's CRC-32. */
const crcOf = (b: Uint8Array) => `crc32:${(crc32(b) >>> 0).toString(16).padStart(8, '0')}`;
const filled = (len: number, seed: number) => Uint8Array.from({ length: len }, (_, i) => (i * 31 + seed) & 0xff);

/** Checkpoint 1's task file `2-sum-0.bin` holding three pieces of `len` bytes (fills seed, seed+1, seed+2). */
async function threePieces(len: number, seed: number) {
  const s = new CheckpointStorage(fresh());
  const f = new TaskFile(1, '2-sum-0.bin');
  const handles = [0, 1, 2].map((k) => f.add(filled(len, seed + k), true));
  await s.writeTaskFile(f);
  return { s, handles, path: join(s.checkpointDir(1), '2-sum-0.bin') };
}

/** Every state handle a `_metadata` body lists (keyed base and deltas, operator state, in-flight data). */
function handlesOf(body: CheckpointMetadata): StateFileHandle[] {
  const out: StateFileHandle[] = [];
  for (const op of body.operators)
    for (const st of op.subtasks) {
      if (st.keyed) out.push(st.keyed.file, ...(st.keyed.deltas ?? []).map((d) => d.file));
      if (st.operator) out.push(st.operator);
    }
  for (const c of body.channels ?? []) out.push(c.file);
  return out;
}

const metadataPath = (chk: string, id: number) => join(chk, `chk-${id}`, '_metadata');
const bodyOf = (chk: string, id: number) => (JSON.parse(readFileSync(metadataPath(chk, id), 'utf8')) as { body: CheckpointMetadata }).body;

function completed(chk: string): number[] {
  return readdirSync(chk)
    .filter((f) => /^chk-\d+$/.test(f) && existsSync(join(chk, f, '_metadata')))
    .map((f) => Number(f.slice(4)))
    .sort((a, b) => a - b);
}

describe('task files: storage', () => {
  it('pieces written as one file read back exactly, each by its offset', async () => {
    const s = new CheckpointStorage(fresh());
    const pieces = [filled(1000, 1), filled(1, 2), [filled(300, 3), filled(700, 4)], filled(0, 5), filled(4096, 6)];
    const f = new TaskFile(3, '7-count-1.bin');
    for (const p of pieces) f.add(p, true);
    const handles = await s.writeTaskFile(f);
    const joined = pieces.map((p) => (Array.isArray(p) ? Buffer.concat(p) : Buffer.from(p)));
    let offset = 0;
    handles.forEach((h, i) => {
      assert.deepEqual(h, { file: 'chk-3/7-count-1.bin', offset, bytes: joined[i].length, checksum: crcOf(joined[i]) });
      offset += joined[i].length;
    });
    // One file, the pieces one after the other and nothing else.
    assert.deepEqual(readdirSync(s.checkpointDir(3)), ['7-count-1.bin']);
    assert.ok(readFileSync(join(s.checkpointDir(3), '7-count-1.bin')).equals(Buffer.concat(joined)));
    for (const [i, h] of handles.entries()) assert.ok(Buffer.from(await s.readStateFile(h)).equals(joined[i]), `piece ${i}`);
  });

  it('a truncated task file: the pieces it cuts are refused in one line naming the file, the ones before still read', async () => {
    const {
      s,
      handles: [a, b, c],
      path,
    } = await threePieces(100, 7);
    truncateSync(path, 150);
    assert.ok(Buffer.from(await s.readStateFile(a)).equals(Buffer.from(filled(100, 7))));
    for (const h of [b, c]) {
      const err = await s.readStateFile(h).then(
        () => assert.fail('read a cut piece'),
        (e: unknown) => e as EddyError,
      );
      assert.equal(err.code, 'CHECKPOINT_CORRUPT');
      assert.ok(err.message.includes(path), err.message);
      assert.doesNotMatch(err.message, /\n/);
      assert.match(
        err.message,
        new RegExp(
          `at offset ${h.offset} is corrupt: expected 100 bytes with checksum crc32:[0-9a-f]{8}, actual ${h === b ? 50 : 0} bytes`,
        ),
      );
    }
    // Nor does a checkpoint complete on it: its metadata would name bytes past the file's end.
    const meta: CheckpointMetadata = {
      id: 1,
      timestamp: 0,
      durationMs: 0,
      kind: 'checkpoint',
      maxParallelism: 128,
      operators: [{ uid: 'sum', parallelism: 1, subtasks: [{ subtask: 0, operator: c }] }],
    };
    await assert.rejects(s.commitMetadata(1, meta), (e: EddyError) => e.message.includes(path) && /expected at least 300/.test(e.message));
    assert.equal(existsSync(join(s.checkpointDir(1), '_metadata')), false);
  });

  it('a flipped byte is refused for its piece only', async () => {
    const {
      s,
      handles: [a, b, c],
      path,
    } = await threePieces(64, 1);
    const bytes = readFileSync(path);
    bytes[64 + 10] ^= 0x20;
    writeFileSync(path, bytes);
    await s.readStateFile(a);
    await s.readStateFile(c);
    await assert.rejects(
      s.readStateFile(b),
      (e: EddyError) =>
        e.code === 'CHECKPOINT_CORRUPT' &&
        e.message.includes(path) &&
        e.message.includes(`at offset 64 is corrupt: expected 64 bytes with checksum ${b.checksum}`),
    );
  });

  it('a task file an incremental checkpoint still refers to survives pruning; a savepoint restores without the checkpoint folder', async () => {
    const dir = fresh();
    const s = new CheckpointStorage(dir);
    const meta = (
      id: number,
      keyed: { base: StateFileHandle; deltas: StateFileHandle[] },
      operator: StateFileHandle,
    ): CheckpointMetadata => ({
      id,
      timestamp: id,
      durationMs: 1,
      kind: 'checkpoint',
      maxParallelism: 128,
      operators: [
        {
          uid: 'count',
          parallelism: 1,
          subtasks: [
            {
              subtask: 0,
              operator,
              keyed: {
                file: keyed.base,
                keyGroups: { start: 0, end: 127 },
                index: [],
                ...(keyed.deltas.length > 0 ? { deltas: keyed.deltas.map((file) => ({ file, index: [] })) } : {}),
              },
            },
          ],
        },
      ],
    });
    const f1 = new TaskFile(1, '1-count-0.bin');
    const base = f1.add(filled(500, 1), true);
    const op1 = f1.add(filled(20, 2), true);
    await s.writeTaskFile(f1);
    await s.commitMetadata(1, meta(1, { base, deltas: [] }, op1));
    const f2 = new TaskFile(2, '1-count-0.bin');
    const op2 = f2.add(filled(20, 3), true);
    const delta = f2.add(filled(50, 4), true);
    await s.writeTaskFile(f2);
    await s.commitMetadata(2, meta(2, { base, deltas: [delta] }, op2));
    await s.prune(1);
    // Checkpoint 1 is gone, its task file stays whole for checkpoint 2's base.
    assert.deepEqual(
      (await s.list()).map((e) => e.id),
      [2],
    );
    assert.deepEqual(readdirSync(s.checkpointDir(1)), ['1-count-0.bin']);
    assert.ok(Buffer.from(await s.readStateFile(base)).equals(Buffer.from(filled(500, 1))));

    const sp = await writeSavepoint(s, bodyOf(dir, 2), join(root, `savepoints-${n++}`));
    rmSync(dir, { recursive: true, force: true });
    const spMeta = (JSON.parse(readFileSync(join(sp, '_metadata'), 'utf8')) as { body: CheckpointMetadata }).body;
    const spStorage = new CheckpointStorage(sp);
    const want = [filled(500, 1), filled(50, 4), filled(20, 3)];
    const got = handlesOf(spMeta);
    assert.equal(got.length, 3);
    for (const [i, h] of got.entries()) {
      assert.equal(h.offset, undefined, 'a savepoint holds each piece as a file of its own');
      assert.ok(Buffer.from(await spStorage.readStateFile(h)).equals(Buffer.from(want[i])), h.file);
    }
  });
});

const COUNT = 100_000;
const KEYS = 40;
const PARALLELISM = 2;

function jobOptions(chk: string, out: string, extra: Record<string, unknown> = {}, args: Record<string, string> = {}) {
  return {
    parallelism: PARALLELISM,
    checkpointIntervalMs: 100,
    checkpointDir: chk,
    restart: 'fixed:5:10',
    ...extra,
    args: { count: String(COUNT), keys: String(KEYS), rate: '50000', output: out, ...args },
  };
}

/**
 * Each completed checkpoint's own files: one per task that wrote (source, and the keyed
 * chain with its sink, at each subtask), every piece of its metadata in one of them with an
 * offset, the pieces of a file one after the other from 0 to its end.
 */
function assertOneFilePerTask(chk: string): void {
  const ids = completed(chk);
  assert.ok(ids.length > 0);
  for (const id of ids) {
    const own = handlesOf(bodyOf(chk, id)).filter((h) => h.file.startsWith(`chk-${id}/`));
    const files = readdirSync(join(chk, `chk-${id}`)).filter((f) => !f.startsWith('_') && !f.startsWith('.'));
    assert.ok(files.length <= 2 * PARALLELISM, `checkpoint ${id}: at most one file per task: ${files.join(', ')}`);
    for (const f of files) {
      const pieces = own.filter((h) => h.file === `chk-${id}/${f}`).sort((a, b) => a.offset! - b.offset!);
      assert.ok(pieces.length > 0 && pieces.every((h) => h.offset !== undefined), `checkpoint ${id}: ${f} holds pieces with offsets`);
      let end = 0;
      for (const h of pieces) {
        assert.equal(h.offset, end, `checkpoint ${id}: ${f}'s pieces lie one after the other`);
        end += h.bytes;
      }
      assert.equal(statSync(join(chk, `chk-${id}`, f)).size, end, `checkpoint ${id}: ${f} is its pieces`);
    }
  }
}

describe('task files: a job', () => {
  const variants: [string, Record<string, unknown>, Record<string, string>][] = [
    // A slow stage after the keyed sum keeps the rings full, so in-flight data is a piece too.
    ['heap, unaligned under backpressure', { stateBackend: 'heap', unaligned: true }, { slowUs: '15' }],
    ['LMDB incremental, aligned', { stateBackend: 'lmdb', incremental: true }, {}],
  ];
  for (const [label, extra, args] of variants) {
    it(`${label}: one file per task per checkpoint, and a restore from them is exact`, async () => {
      const chk = fresh();
      const out = fresh();
      const result = await runJob(fixture('validating.mjs'), jobOptions(chk, out, extra, { ...args, faults: 'map@10000' }));
      assert.equal(result.restarts, 1, 'the injected failure restored from a checkpoint');
      assertOneFilePerTask(chk);
      const check = compareWithFaultFree(readCommitted(out), COUNT, KEYS);
      assert.deepEqual(check, { lost: 0, duplicated: 0, wrong: 0 });
    });
  }
});

describe('task files: a checkpoint written before them', () => {
  it('a file per piece, without offsets, still restores exactly', async () => {
    const chk = fresh();
    const first = fresh();
    await runJob(fixture('validating.mjs'), jobOptions(chk, first));
    // The final checkpoint keeps no keyed state; restore the periodic one before it.
    const ids = completed(chk);
    const final = ids.at(-1)!;
    const id = ids.filter((i) => i !== final && bodyOf(chk, i).finished !== true).at(-1)!;
    assert.ok(id !== undefined, `a periodic checkpoint is retained: ${ids}`);
    for (const later of ids.filter((i) => i > id)) rmSync(join(chk, `chk-${later}`), { recursive: true });
    writeFileSync(join(chk, '_latest'), `${JSON.stringify({ id })}\n`);
    toOldLayout(chk, id);
    const files = readdirSync(join(chk, `chk-${id}`));
    assert.ok(
      files.some((f) => f.endsWith('-keyed.bin')),
      `the old layout has its keyed files: ${files.join(', ')}`,
    );

    const out = fresh();
    const result = await runJob(fixture('validating.mjs'), { ...jobOptions(chk, out), resume: 'latest' });
    assert.equal(result.restoredFrom?.checkpointId, id);
    // The resumed run commits what came after checkpoint `id`, each record once and each running
    // sum right (so the keyed state came back exactly); the first run committed the rest.
    const resumed = readCommitted(out);
    assert.ok(resumed.length > 0);
    const check = compareWithFaultFree(resumed, COUNT, KEYS);
    assert.equal(check.duplicated, 0);
    assert.equal(check.wrong, 0);
  });
});

/**
 * Rewrites checkpoint `id` of `chk` as eddy wrote checkpoints before task files: every piece its
 * own file (`<uid>-<subtask>-keyed.bin`, `-keyed-delta.bin`, `-operator.bin`,
 * `<vertex>-<subtask>-channels.bin`), handles without offsets, and the `_metadata` envelope of
 * that time (version 1, or 2 with in-flight data; checksum the CRC-32 of the compact body).
 */
function toOldLayout(chk: string, id: number): void {
  const body = bodyOf(chk, id);
  const dir = join(chk, `chk-${id}`);
  const taskFiles = new Set<string>();
  const split = (h: StateFileHandle, name: string): StateFileHandle => {
    if (h.offset === undefined || !h.file.startsWith(`chk-${id}/`)) return h;
    const bytes = readFileSync(join(chk, h.file)).subarray(h.offset, h.offset + h.bytes);
    writeFileSync(join(dir, name), bytes);
    taskFiles.add(h.file);
    return { file: `chk-${id}/${name}`, bytes: h.bytes, checksum: h.checksum };
  };
  for (const op of body.operators)
    for (const st of op.subtasks) {
      const base = `${op.uid}-${st.subtask}`;
      if (st.keyed) {
        st.keyed.file = split(st.keyed.file, `${base}-keyed.bin`);
        st.keyed.deltas?.forEach((d, i) => (d.file = split(d.file, `${base}-keyed-delta-${i}.bin`)));
      }
      if (st.operator) st.operator = split(st.operator, `${base}-operator.bin`);
    }
  for (const c of body.channels ?? []) c.file = split(c.file, `${c.vertex}-${c.subtask}-channels.bin`);
  for (const f of taskFiles) unlinkSync(join(chk, f));
  const compact = JSON.stringify(body);
  const version = body.channels !== undefined && body.channels.length > 0 ? 2 : 1;
  writeFileSync(metadataPath(chk, id), JSON.stringify({ version, checksum: crcOf(Buffer.from(compact)), body }, null, 2) + '\n');
}
