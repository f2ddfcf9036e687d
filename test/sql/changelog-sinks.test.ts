// test-lane: pair
// The changelog sinks' contract, on the writers directly: what an upsert and a retract-mode
// JSON-lines sink commit and what the reader materializes from it (also as of a checkpoint and
// for a job without checkpoints), which sinks say they take updates, and the one-line errors.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Sinks } from '../../core/connectors/index.js';
import type { ConnectorContext, SinkWriter } from '../../core/connectors/types.js';
import { EddyError } from '../../core/failure.js';
import {
  postgresUpsertSink,
  readUpsertJsonLines,
  sinkAcceptsUpdates,
  upsertJsonLinesFile,
  upsertSinkKey,
  type ChangeRow,
} from '../../core/sql/runtime/index.js';

const root = mkdtempSync(join(tmpdir(), 'eddy-changelog-sinks-'));
after(() => rmSync(root, { recursive: true, force: true }));

const ctx: ConnectorContext = { subtaskIndex: 0, parallelism: 1, operatorUid: 'sink', attempt: 0, report() {} };

async function writer(dir: string, key?: string[]): Promise<SinkWriter<ChangeRow>> {
  const w = await upsertJsonLinesFile(dir, { key }).createWriter(ctx);
  await w.open?.();
  return w;
}

const sortRows = (rows: object[]) => rows.map((r) => JSON.stringify(r)).sort();

describe('changelog sinks', () => {
  it('upsert mode: only committed checkpoints are visible, -U is not written, the reader applies upserts and deletes in checkpoint order', async () => {
    const dir = join(root, 'upsert');
    const w = await writer(dir, ['k']);
    w.write({ kind: '+I', row: { k: 'a', n: 1 } });
    w.write({ kind: '+I', row: { k: 'b', n: 1 } });
    const h3 = await w.prepareCommit!(3);
    w.write({ kind: '-U', row: { k: 'a', n: 1 } });
    w.write({ kind: '+U', row: { k: 'a', n: 2 } });
    w.write({ kind: '-D', row: { k: 'b', n: 1 } });
    const h4 = await w.prepareCommit!(4);
    assert.deepEqual(readUpsertJsonLines(dir), [], 'nothing visible before the commit');
    await w.commit!([h3]);
    assert.deepEqual(
      sortRows(readUpsertJsonLines(dir)),
      sortRows([
        { k: 'a', n: 1 },
        { k: 'b', n: 1 },
      ]),
    );
    await w.commit!([h4]);
    await w.commit!([h4]); // a repeated commit (after a restore) changes nothing
    assert.deepEqual(readUpsertJsonLines(dir), [{ k: 'a', n: 2 }]);
    assert.deepEqual(
      sortRows(readUpsertJsonLines(dir, { upToCheckpoint: 3 })),
      sortRows([
        { k: 'a', n: 1 },
        { k: 'b', n: 1 },
      ]),
    );
    const lines = readdirSync(dir).filter((f) => !f.startsWith('.'));
    assert.deepEqual(lines.map((f) => f.slice(0, 21)).sort(), ['changes-000000000003-', 'changes-000000000004-']);
    // Without checkpoints the end of the job commits, ordered after every checkpoint.
    w.write({ kind: '+I', row: { k: 'c', n: 7 } });
    w.write({ kind: '-D', row: { k: 'a', n: 2 } });
    await w.finish();
    assert.deepEqual(readUpsertJsonLines(dir), [{ k: 'c', n: 7 }]);
    await w.close?.();
  });

  it('retract mode (no key): every change kept, the table is the multiset', async () => {
    const dir = join(root, 'retract');
    const w = await writer(dir);
    for (let i = 0; i < 3; i++) w.write({ kind: '+I', row: { x: 1 } });
    w.write({ kind: '-U', row: { x: 1 } });
    w.write({ kind: '+U', row: { x: 2 } });
    await w.commit!([await w.prepareCommit!(1)]);
    assert.deepEqual(sortRows(readUpsertJsonLines(dir)), sortRows([{ x: 1 }, { x: 1 }, { x: 2 }]));
    w.write({ kind: '-D', row: { x: 3 } });
    await w.commit!([await w.prepareCommit!(2)]);
    assert.throws(
      () => readUpsertJsonLines(dir),
      (e: EddyError) => e.code === 'MALFORMED_RECORD' && /retracts the row \{"x":3\} 1 more time/.test(e.message),
    );
    await w.close?.();
  });

  it('which sinks take updates, and the primary key they write by', () => {
    assert.equal(sinkAcceptsUpdates(Sinks.jsonLinesFile(join(root, 'plain'))), false);
    assert.equal(sinkAcceptsUpdates(Sinks.print()), false);
    assert.equal(sinkAcceptsUpdates(Sinks.postgres({ connectionString: 'postgres://127.0.0.1:1/x', table: 't', columns: ['a'] })), false);
    const file = upsertJsonLinesFile(join(root, 'u'), { key: ['id'] });
    assert.equal(sinkAcceptsUpdates(file), true);
    assert.deepEqual(upsertSinkKey(file), ['id']);
    const pg = postgresUpsertSink({ connectionString: 'postgres://127.0.0.1:1/x', table: 't', columns: ['id', 'v'], key: ['id'] });
    assert.equal(sinkAcceptsUpdates(pg), true);
    assert.deepEqual(upsertSinkKey(pg), ['id']);
  });

  it('bad input: one line each, with a code', () => {
    assert.throws(
      () => postgresUpsertSink({ connectionString: 'postgres://127.0.0.1:1/x', table: 't', columns: ['id'], key: [] }),
      (e: EddyError) => e.code === 'JOB_INVALID' && /needs key/.test(e.message) && !e.message.includes('\n'),
    );
    assert.throws(
      () => readUpsertJsonLines(join(root, 'nope')),
      (e: EddyError) => e.code === 'INPUT_NOT_FOUND' && e.message.includes('nope'),
    );
    const dir = join(root, 'bad');
    mkdirSync(dir);
    writeFileSync(join(dir, 'changes-000000000001-0-abcd-0.jsonl'), '{"kind":"+I","key":[1],"row":{}}\nnot json\n');
    assert.throws(
      () => readUpsertJsonLines(dir),
      (e: EddyError) => e.code === 'MALFORMED_RECORD' && /line 2 of/.test(e.message),
    );
  });
});
