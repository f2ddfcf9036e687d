// test-lane: pair
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonLinesFile, type PartFileHandle } from '../../core/connectors/sinks/json-lines-file.js';
import { collect, discard } from '../../core/connectors/sinks/simple.js';
import type { ConnectorContext, Sink, SinkWriter } from '../../core/connectors/types.js';
import { EddyError } from '../../core/failure.js';

function ctx(subtaskIndex = 0, parallelism = 1, reports: Array<[string, unknown]> = []): ConnectorContext {
  return {
    subtaskIndex,
    parallelism,
    operatorUid: 'sink',
    attempt: 0,
    report: (r) => void reports.push([r.kind, r.kind === 'collect' ? r.chunk : r]),
  };
}

async function writer<T>(sink: Sink<T>, c: ConnectorContext = ctx()): Promise<SinkWriter<T>> {
  await sink.validate?.();
  const w = await sink.createWriter(c);
  await w.open?.();
  return w;
}

const visible = (dir: string) =>
  readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .sort(bySeq);
const hidden = (dir: string, suffix: string) => readdirSync(dir).filter((f) => f.startsWith('.') && f.endsWith(suffix));

/** Part files in write order: by subtask, run, then numeric sequence. */
function bySeq(a: string, b: string): number {
  const ka = a.split(/[-.]/);
  const kb = b.split(/[-.]/);
  return ka[1] === kb[1] && ka[2] === kb[2] ? Number(ka[3]) - Number(kb[3]) : a < b ? -1 : 1;
}

/** The records in the committed files, in write order. */
function committed(dir: string): unknown[] {
  const out: unknown[] = [];
  for (const f of visible(dir)) {
    const text = readFileSync(join(dir, f), 'utf8');
    assert.ok(text.endsWith('\n'), `${f} ends with a newline`);
    for (const line of text.slice(0, -1).split('\n')) out.push(JSON.parse(line));
  }
  return out;
}

const record = (i: number) => ({ i, word: `w${i % 97}`, text: 'é€😀'.repeat(i % 5), nested: { even: i % 2 === 0 } });

describe('jsonLinesFile', () => {
  let root: string;
  let n = 0;
  const fresh = () => join(root, `out-${n++}`, 'nested');
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'eddy-jsonl-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('shows nothing before commit and exactly the written lines after', async () => {
    const dir = fresh();
    const w = await writer(jsonLinesFile<ReturnType<typeof record>>(dir));
    const records = Array.from({ length: 30_000 }, (_, i) => record(i)); // more than one 1 MiB buffer
    for (const r of records) w.write(r);
    assert.deepEqual(visible(dir), []);
    assert.ok(hidden(dir, '.inprogress').length > 0, 'a full buffer reached the in-progress file');
    const handles = (await w.prepareCommit!(1)) as PartFileHandle[];
    assert.deepEqual(visible(dir), []);
    assert.equal(hidden(dir, '.inprogress').length, 0);
    assert.equal(hidden(dir, '.pending').length, handles.length);
    assert.ok(handles.length >= 1);
    assert.deepEqual(JSON.parse(JSON.stringify(handles)), handles, 'handles are plain JSON');
    await w.commit!([handles]);
    assert.deepEqual(committed(dir), records);
    assert.equal(hidden(dir, '.pending').length, 0);
    await w.close?.();
  });

  it('keeps each checkpoint apart, including records written while prepareCommit runs', async () => {
    const dir = fresh();
    const w = await writer(jsonLinesFile<number>(dir));
    for (let i = 0; i < 100; i++) w.write(i);
    const preparing = w.prepareCommit!(1);
    for (let i = 100; i < 150; i++) w.write(i); // belongs to checkpoint 2
    const h1 = await preparing;
    for (let i = 150; i < 200; i++) w.write(i);
    const h2 = await w.prepareCommit!(2);
    await w.commit!([h1]);
    assert.deepEqual(
      committed(dir),
      Array.from({ length: 100 }, (_, i) => i),
    );
    await w.commit!([h2]);
    assert.deepEqual(
      committed(dir),
      Array.from({ length: 200 }, (_, i) => i),
    );
  });

  it('returns no handles when nothing was written', async () => {
    const dir = fresh();
    const w = await writer(jsonLinesFile<number>(dir));
    assert.deepEqual(await w.prepareCommit!(1), []);
    await w.commit!([[], null]);
    await w.finish();
    assert.deepEqual(readdirSync(dir), []);
  });

  it('rolls part files at rollBytes', async () => {
    const dir = fresh();
    const w = await writer(jsonLinesFile<ReturnType<typeof record>>(dir, { rollBytes: 4096 }));
    const records = Array.from({ length: 2000 }, (_, i) => record(i));
    for (const r of records.slice(0, 1000)) w.write(r);
    const h1 = await w.prepareCommit!(1);
    for (const r of records.slice(1000)) w.write(r);
    const h2 = await w.prepareCommit!(2);
    await w.commit!([h1, h2]);
    const files = visible(dir);
    assert.ok(files.length > 10, `${files.length} part files`);
    const sizes = files.map((f) => readFileSync(join(dir, f)).length);
    // Every part is cut at rollBytes except the last one of each checkpoint.
    assert.ok(
      sizes.every((size) => size < 4096 + 1024),
      `sizes ${sizes}`,
    );
    assert.ok(sizes.filter((size) => size < 4096).length <= 2, `sizes ${sizes}`);
    assert.deepEqual(committed(dir), records);
  });

  it('commit is idempotent and names a part file that has vanished', async () => {
    const dir = fresh();
    const w = await writer(jsonLinesFile<string>(dir));
    w.write('x');
    const handles = (await w.prepareCommit!(1)) as PartFileHandle[];
    await w.commit!([handles]);
    await w.commit!([handles]); // again, e.g. after a restore of the same checkpoint
    assert.deepEqual(committed(dir), ['x']);
    rmSync(handles[0].final);
    await assert.rejects(
      async () => w.commit!([handles]),
      (e: unknown) => e instanceof EddyError && e.code === 'SINK_FAILED' && e.message.includes(handles[0].final),
    );
  });

  it('a restarted writer commits the handles of a restored checkpoint', async () => {
    const dir = fresh();
    const first = await writer(jsonLinesFile<number>(dir));
    first.write(1);
    const handles = JSON.parse(JSON.stringify(await first.prepareCommit!(1)));
    first.write(2); // after the checkpoint: lost with the failure
    await first.abort!();
    const second = await writer(jsonLinesFile<number>(dir));
    await second.commit!([handles]);
    second.write(3);
    await second.finish();
    assert.deepEqual(committed(dir).sort(), [1, 3]);
    assert.equal(new Set(visible(dir).map((f) => f.split('-')[2])).size, 2, 'two writers, two run ids');
  });

  it('abort removes rolled files not yet in a checkpoint, not prepared ones', async () => {
    const dir = fresh();
    const w = await writer(jsonLinesFile<string>(dir, { rollBytes: 64 }));
    w.write('a'.repeat(100)); // rolled at once
    const h = (await w.prepareCommit!(1)) as PartFileHandle[];
    w.write('b'.repeat(100)); // rolled, not yet in a checkpoint
    assert.equal(hidden(dir, '.pending').length, 2);
    await w.abort!();
    assert.equal(hidden(dir, '.pending').length, 1);
    assert.ok(existsSync(h[0].pending));
    await w.commit!([h]);
    assert.deepEqual(committed(dir), ['a'.repeat(100)]);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith('.')),
      [],
    );
  });

  it('abort removes the in-progress file', async () => {
    const dir = fresh();
    const w = await writer(jsonLinesFile<string>(dir));
    for (let i = 0; i < 1100; i++) w.write('d'.repeat(1000)); // more than the 1 MiB buffer
    assert.equal(hidden(dir, '.inprogress').length, 1);
    await w.abort!();
    assert.deepEqual(readdirSync(dir), []);
  });

  it('finish commits everything, including prepared but uncommitted parts', async () => {
    const dir = fresh();
    const w = await writer(jsonLinesFile<number>(dir, { rollBytes: 100 }));
    for (let i = 0; i < 50; i++) w.write(i);
    await w.prepareCommit!(1);
    for (let i = 50; i < 120; i++) w.write(i);
    await w.finish();
    await w.close?.();
    assert.deepEqual(
      committed(dir),
      Array.from({ length: 120 }, (_, i) => i),
    );
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith('.')),
      [],
    );
  });

  it('validate fails with OUTPUT_FAILED naming a directory that cannot be created', async () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    const dir = join(file, 'out');
    assert.throws(
      () => jsonLinesFile(dir).validate!(),
      (e: unknown) => e instanceof EddyError && e.code === 'OUTPUT_FAILED' && e.message.includes(`'${dir}'`),
    );
  });

  it('refuses records that are not JSON', async () => {
    const w = await writer(jsonLinesFile<unknown>(fresh()));
    assert.throws(
      () => w.write(undefined),
      (e: unknown) => e instanceof EddyError && e.code === 'MALFORMED_RECORD',
    );
    assert.throws(
      () => w.write(10n),
      (e: unknown) => e instanceof EddyError && e.code === 'MALFORMED_RECORD',
    );
    await w.abort!();
  });
});

describe('simple sinks', () => {
  it('collect reports its records on finish in chunks of at most 10000', async () => {
    const reports: Array<[string, unknown]> = [];
    const w = await writer(collect<number>(), ctx(0, 1, reports));
    for (let i = 0; i < 25_000; i++) w.write(i);
    assert.equal(reports.length, 0);
    await w.finish();
    assert.deepEqual(
      reports.map(([kind, p]) => [kind, (p as { records: number[] }).records.length]),
      [
        ['collect', 10_000],
        ['collect', 10_000],
        ['collect', 5_000],
      ],
    );
    assert.deepEqual(
      reports.flatMap(([, p]) => (p as { records: number[] }).records),
      Array.from({ length: 25_000 }, (_, i) => i),
    );
  });

  it('collect seals records per barrier and reports them on commit, with stable handle ids', async () => {
    const reports: Array<[string, unknown]> = [];
    const w = await writer(collect<number>(), ctx(0, 1, reports));
    for (let i = 0; i < 5; i++) w.write(i);
    const h1 = (await w.prepareCommit!(1)) as { id: string; records: number[] }[];
    w.write(5);
    assert.equal(reports.length, 0, 'nothing reported before commit');
    await w.commit!([h1]);
    const first = reports.map(([, p]) => p as { id: string; records: number[] });
    assert.deepEqual(
      first.flatMap((p) => p.records),
      [0, 1, 2, 3, 4],
    );
    await w.commit!([h1]); // a re-commit after a restore reports the same id again
    assert.equal((reports[1][1] as { id: string }).id, first[0].id);
  });

  it('discard is stateless; collect keeps transactions', () => {
    assert.equal(discard().stateful, false);
    assert.equal(collect().stateful, true);
  });
});
