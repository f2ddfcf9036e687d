// test-lane: pair
// Sources.jsonLines and Sources.csv: the invalid-line policies (fail, skip, dead letter) and
// exactly-once of the good records across injected failures; gzip input rewinding exactly.
// Every expectation comes from a plain line split of the file written here (offsets, line
// numbers, which lines parse by the documented rules), never from the sources themselves.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { OutputTag } from '../../core/contract/functions.js';
import { csv } from '../../core/connectors/sources/csv.js';
import { jsonLines } from '../../core/connectors/sources/json-lines.js';
import type { InvalidLine } from '../../core/connectors/sources/line-parsing.js';
import { textFile } from '../../core/connectors/sources/text-file.js';
import type { ConnectorContext, Source, SourceReader } from '../../core/connectors/types.js';
import { EddyError } from '../../core/failure.js';
import { runJob } from '../../core/runtime/job-run.js';
import { cliPath, fixture } from '../helpers/paths.js';
import { prng } from '../helpers/prng.js';
import { readCommitted } from '../helpers/validating-output.js';

interface Line {
  text: string;
  offset: number;
  lineNumber: number;
}

/** Lines with byte offsets and 1-based numbers, by a plain split. */
function linesOf(content: string): Line[] {
  const out: Line[] = [];
  let offset = 0;
  const parts = content.split('\n');
  if (parts[parts.length - 1] === '') parts.pop();
  parts.forEach((raw, i) => {
    out.push({ text: raw.endsWith('\r') ? raw.slice(0, -1) : raw, offset, lineNumber: i + 1 });
    offset += Buffer.byteLength(raw) + 1;
  });
  return out;
}

const BAD_JSON = ['{"i": 1,', 'not json', '{"i": 2}}', "{'i': 3}", '[1, 2', 'nul'];

/** A JSON-lines file with records {i, word} and bad lines at random places (blank lines too). */
function jsonLinesContent(count: number, random: () => number): string {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = random();
    if (r < 0.004) lines.push(BAD_JSON[Math.floor(random() * BAD_JSON.length)] + ` #${i}`);
    else if (r < 0.006) lines.push(i % 2 ? '' : '   ');
    else lines.push(JSON.stringify({ i, word: `w€${i % 13}`, crlf: r < 0.1 }) + (r < 0.1 ? '\r' : ''));
  }
  return lines.join('\n') + '\n';
}

/** The reference for JSON lines: a blank line is ignored; a line is bad iff JSON.parse throws. */
function jsonReference(content: string, file: string): { good: unknown[]; bad: InvalidLine[] } {
  const good: unknown[] = [];
  const bad: InvalidLine[] = [];
  for (const l of linesOf(content)) {
    if (l.text.trim() === '') continue;
    try {
      good.push(JSON.parse(l.text));
    } catch (err) {
      bad.push({ line: l.text, file, offset: l.offset, lineNumber: l.lineNumber, error: (err as Error).message });
    }
  }
  return { good, bad };
}

const sortBy = <T>(xs: T[], key: (x: T) => string | number) => [...xs].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
const withoutError = (d: InvalidLine) => ({ line: d.line, file: d.file, offset: d.offset, lineNumber: d.lineNumber });

function ctx(i: number, p: number, sides: Record<string, unknown[]> = {}, reports: unknown[] = []): ConnectorContext {
  return {
    subtaskIndex: i,
    parallelism: p,
    operatorUid: 'in',
    attempt: 0,
    report: (r) => void reports.push(r),
    sideOutput: (tag) => (sides[tag] ? { collect: (v) => void sides[tag].push(v) } : undefined),
  };
}

async function readAll<T>(source: Source<T>, p: number, sides: Record<string, unknown[]> = {}): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < p; i++) {
    const r = await source.createReader(ctx(i, p, sides));
    await r.open!();
    while ((await r.poll({ collect: (v) => void out.push(v) }, 100)) !== 'end');
    await r.close!();
  }
  return out;
}

describe('jsonLines and csv sources', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'eddy-parse-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('dead letters are exactly the lines that do not parse, with file, offset and line number (parallelism 1-4)', async () => {
    const file = join(dir, 'dl.jsonl');
    const content = jsonLinesContent(5000, prng(7));
    writeFileSync(file, content);
    const ref = jsonReference(content, file);
    assert.ok(ref.bad.length >= 10, 'the file has bad lines');
    for (const p of [1, 2, 4]) {
      const dead: unknown[] = [];
      const good = await readAll(jsonLines(file, { onInvalid: new OutputTag<InvalidLine>('dead') }), p, { dead });
      assert.deepEqual(
        sortBy(good as Array<{ i: number }>, (r) => r.i),
        ref.good,
      );
      assert.deepEqual(
        sortBy((dead as InvalidLine[]).map(withoutError), (d) => d.offset),
        ref.bad.map(withoutError),
      );
      for (const d of dead as InvalidLine[]) assert.match(d.error, /JSON|Unexpected|position|token/i);
    }
  });

  it("'fail' names the file, line number and byte offset of the first bad line", async () => {
    const file = join(dir, 'fail.jsonl');
    const content = jsonLinesContent(3000, prng(3));
    writeFileSync(file, content);
    const first = jsonReference(content, file).bad[0];
    const reader = await jsonLines(file).createReader(ctx(0, 1));
    await reader.open!();
    await assert.rejects(
      async () => {
        while ((await reader.poll({ collect() {} }, 1000)) !== 'end');
      },
      (err: EddyError) => {
        assert.equal(err.code, 'MALFORMED_RECORD');
        assert.ok(err.message.includes(`line ${first.lineNumber} of '${file}' (byte ${first.offset})`), err.message);
        return true;
      },
    );
    await reader.close!();
  });

  it('csv: header, quoted fields with separators and quotes, typed columns; bad lines by the rules', async () => {
    const file = join(dir, 'typed.csv');
    const rows = [
      'i,word,score,ok',
      '1,plain,2.5,true',
      '2,"with, comma",-3,FALSE',
      '3,"with ""quotes""",1e3,true',
      '4,"",0,false',
      'x5,bad-int,1,true', // integer column
      '6,too,many,fields,here',
      '7,bad-bool,1,yes',
      '8,"unterminated,1,true',
      '9,bad-number,abc,true',
      '',
      '10,last,7,true',
    ];
    writeFileSync(file, rows.join('\r\n'));
    const dead: unknown[] = [];
    const cols = [
      { name: 'i', type: 'integer' as const },
      'word',
      { name: 'score', type: 'number' as const },
      { name: 'ok', type: 'boolean' as const },
    ];
    const good = await readAll(csv(file, { columns: cols, header: true, onInvalid: new OutputTag('dead') }), 1, { dead });
    assert.deepEqual(good, [
      { i: 1, word: 'plain', score: 2.5, ok: true },
      { i: 2, word: 'with, comma', score: -3, ok: false },
      { i: 3, word: 'with "quotes"', score: 1000, ok: true },
      { i: 4, word: '', score: 0, ok: false },
      { i: 10, word: 'last', score: 7, ok: true },
    ]);
    const ref = linesOf(rows.join('\n')); // same offsets: CRLF is one byte longer per line
    const expectedBad = [6, 7, 8, 9, 10].map((n) => rows[n - 1]);
    assert.deepEqual(
      (dead as InvalidLine[]).map((d) => d.line),
      expectedBad,
    );
    assert.deepEqual(
      (dead as InvalidLine[]).map((d) => d.lineNumber),
      [6, 7, 8, 9, 10],
    );
    assert.deepEqual(
      (dead as InvalidLine[]).map((d) => d.offset),
      [6, 7, 8, 9, 10].map((n) => ref[n - 1].offset + (n - 1)),
    );
  });

  it('gzip: offsets count uncompressed bytes; a restore from any snapshot continues exactly after it', async () => {
    const plain = jsonLinesContent(20_000, prng(11));
    const file = join(dir, 'in.jsonl.gz');
    // Two gzip members, as `cat a.gz b.gz` makes.
    const cut = plain.indexOf('\n', plain.length >> 1) + 1;
    writeFileSync(file, Buffer.concat([gzipSync(plain.slice(0, cut)), gzipSync(plain.slice(cut))]));
    const expected = linesOf(plain).map((l) => l.text);
    const source = textFile(file);
    assert.equal(source.maxParallelism, 1, 'a .gz file is one split');
    const random = prng(5);
    for (let round = 0; round < 4; round++) {
      let reader: SourceReader<string> = await source.createReader(ctx(0, 1));
      await reader.open!();
      const got: string[] = [];
      let state: unknown;
      let atSnapshot = 0;
      for (let polls = 0; ; polls++) {
        const r = await reader.poll({ collect: (l) => void got.push(l) }, 1 + Math.floor(random() * 700));
        if (r === 'end') break;
        if (random() < 0.1) {
          state = reader.snapshotState!();
          atSnapshot = got.length;
        }
        if (state !== undefined && random() < 0.05) {
          // A failure: drop what came after the snapshot and rewind a fresh reader to it.
          await reader.close!();
          got.length = atSnapshot;
          reader = await source.createReader(ctx(0, 1));
          reader.restoreState!(state);
          await reader.open!();
          state = undefined;
        }
      }
      await reader.close!();
      assert.deepEqual(got, expected, `round ${round}`);
    }
  });

  it('gzip dead letters carry uncompressed offsets and line numbers', async () => {
    const content = jsonLinesContent(4000, prng(13));
    const file = join(dir, 'dl.jsonl.gz');
    writeFileSync(file, gzipSync(content));
    const ref = jsonReference(content, file);
    const dead: unknown[] = [];
    const good = await readAll(jsonLines(file, { onInvalid: new OutputTag('dead') }), 1, { dead });
    assert.deepEqual(good, ref.good);
    assert.deepEqual((dead as InvalidLine[]).map(withoutError), ref.bad.map(withoutError));
  });

  it('a file that is not gzip fails at open with one line naming it', async () => {
    const file = join(dir, 'fake.gz');
    writeFileSync(file, 'plain text\n');
    const reader = await textFile(file).createReader(ctx(0, 1));
    await assert.rejects(
      async () => reader.open!(),
      (err: EddyError) => err.code === 'SOURCE_FAILED' && err.message.includes(`'${file}'`) && err.message.includes('gzip'),
    );
  });

  for (const [format, p, faults, gzip] of [
    ['jsonLines', 3, 'map@600,exit@900', false],
    ['csv', 2, 'exit@800,map@400', true],
  ] as const) {
    it(`${format}${gzip ? ' (gzip)' : ''}, parallelism ${p}, faults ${faults}: good records and dead letters exactly once, counts in JobResult`, async () => {
      const count = 12_000;
      const random = prng(p * 31 + 1);
      let content: string;
      let ref: { good: unknown[]; bad: InvalidLine[] };
      const name = join(dir, `e2e-${format}.${format === 'csv' ? 'csv' : 'jsonl'}${gzip ? '.gz' : ''}`);
      if (format === 'jsonLines') {
        content = jsonLinesContent(count, random);
        ref = jsonReference(content, name);
      } else {
        const rows = ['i,word,score,ok'];
        const good: unknown[] = [];
        const badAt = new Set<number>();
        for (let i = 0; i < count; i++) {
          if (random() < 0.005) {
            rows.push(`${i},"broken,${i},true`);
            badAt.add(rows.length);
          } else {
            rows.push(`${i},"w,${i % 7}",${i / 4},${i % 3 === 0}`);
            good.push({ i, word: `w,${i % 7}`, score: i / 4, ok: i % 3 === 0 });
          }
        }
        content = rows.join('\n') + '\n';
        const bad = linesOf(content)
          .filter((l) => badAt.has(l.lineNumber))
          .map((l) => ({ line: l.text, file: name, offset: l.offset, lineNumber: l.lineNumber, error: '' }));
        ref = { good, bad };
      }
      writeFileSync(name, gzip ? gzipSync(content) : content);
      const out = join(dir, `out-${format}`);
      const deadDir = join(dir, `dead-${format}`);
      const result = await runJob(fixture('file-sources.mjs'), {
        parallelism: p,
        // Small batches: the pacing map blocks its thread, and snapshots progress between polls.
        batchSize: 64,
        mode: 'exactly-once',
        checkpointIntervalMs: 50,
        restart: 'fixed:10:10',
        args: { format, input: name, output: out, dead: deadDir, faults, paceEvery: '20' },
      });
      assert.equal(result.restarts, 2, 'both faults fired');
      const key = (r: { i: number }) => r.i;
      assert.deepEqual(sortBy(readCommitted<{ i: number }>(out), key), sortBy(ref.good as Array<{ i: number }>, key));
      assert.deepEqual(
        sortBy(readCommitted<InvalidLine>(deadDir).map(withoutError), (d) => d.offset),
        ref.bad.map(withoutError),
      );
      const src = result.operators.find((o) => o.uid === 'in')!;
      assert.deepEqual(src.parse, { parsed: ref.good.length, skipped: 0, deadLettered: ref.bad.length });
    });
  }

  it("the CLI summary shows the counts ('skip')", () => {
    const file = join(dir, 'cli.jsonl');
    const content = jsonLinesContent(2000, prng(17));
    writeFileSync(file, content);
    const ref = jsonReference(content, file);
    const r = spawnSync(
      process.execPath,
      [
        cliPath,
        'run',
        fixture('file-sources.mjs'),
        '--parallelism',
        '2',
        '--no-progress',
        '--arg',
        'format=jsonLines',
        '--arg',
        `input=${file}`,
        '--arg',
        `output=${join(dir, 'cli-out')}`,
        '--arg',
        'onInvalid=skip',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.ok(
      r.stderr.includes(`in: lines parsed ${ref.good.length.toLocaleString('en-US')} · skipped ${ref.bad.length} · dead-lettered 0`),
      r.stderr,
    );
    assert.equal(readCommitted(join(dir, 'cli-out')).length, ref.good.length);
  });

  it("'fail' through the CLI: one line with MALFORMED_RECORD, file, line and byte", () => {
    const file = join(dir, 'cli-fail.jsonl');
    writeFileSync(file, '{"i":1}\n{"i":2}\n{"i":\n');
    const r = spawnSync(
      process.execPath,
      [
        cliPath,
        'run',
        fixture('file-sources.mjs'),
        '--no-progress',
        '--restart',
        'none',
        '--arg',
        'format=jsonLines',
        '--arg',
        `input=${file}`,
        '--arg',
        `output=${join(dir, 'cli-fail-out')}`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 1);
    const lines = r.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('eddy: ['));
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0].startsWith('eddy: [MALFORMED_RECORD]') && lines[0].includes(`line 3 of '${file}' (byte 16)`), r.stderr);
    assert.ok(!/\n\s+at /.test(r.stderr), 'no stack');
  });
});
