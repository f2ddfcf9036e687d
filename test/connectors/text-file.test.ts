// test-lane: pair
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { textFile } from '../../core/connectors/sources/text-file.js';
import type { ConnectorContext, SourceReader } from '../../core/connectors/types.js';
import { EddyError } from '../../core/failure.js';

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function ctx(subtaskIndex: number, parallelism: number): ConnectorContext {
  return { subtaskIndex, parallelism, operatorUid: 'lines', attempt: 0, report() {} };
}

/** The expected lines, by a split that shares no code with the reader. */
function splitLines(text: string): string[] {
  if (text === '') return [];
  const parts = text.split('\n');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

const ALPHABET = ['a', 'b', 'z', ' ', '0', 'é', 'ß', '€', '中', '😀', '\r', '\t'];

function randomText(random: () => number, approxBytes: number): string {
  const lines: string[] = [];
  let bytes = 0;
  while (bytes < approxBytes) {
    const r = random();
    let len: number;
    if (r < 0.1)
      len = 0; // empty line
    else if (r < 0.101)
      len = 200_000 + Math.floor(random() * 400_000); // longer than a chunk
    else len = Math.floor(random() * 120);
    let line = '';
    for (let i = 0; i < len; i++) line += ALPHABET[Math.floor(random() * ALPHABET.length)];
    if (random() < 0.3) line += '\r'; // CRLF
    lines.push(line);
    bytes += Buffer.byteLength(line) + 1;
  }
  // No final newline, and the last line is not empty.
  return lines.join('\n') + 'tail €😀';
}

async function open(path: string, i: number, p: number, state?: unknown): Promise<SourceReader<string>> {
  const reader = await textFile(path).createReader(ctx(i, p));
  if (state !== undefined) reader.restoreState!(state);
  await reader.open!();
  return reader;
}

/** Polls until 'end' or until `stopAfterPolls` polls; batch sizes are random. */
async function drain(
  reader: SourceReader<string>,
  random: () => number,
  stopAfterPolls = Infinity,
): Promise<{ lines: string[]; ended: boolean }> {
  const lines: string[] = [];
  const out = { collect: (l: string) => void lines.push(l) };
  for (let polls = 0; polls < stopAfterPolls; polls++) {
    const max = random() < 0.5 ? 1 + Math.floor(random() * 5) : 1 + Math.floor(random() * 2000);
    const had = lines.length;
    const status = await reader.poll(out, max);
    assert.ok(lines.length - had <= max, 'poll emitted more than max');
    if (status === 'end') return { lines, ended: true };
    assert.equal(status, 'more');
  }
  return { lines, ended: false };
}

async function readSubtask(path: string, i: number, p: number, random: () => number): Promise<string[]> {
  const reader = await open(path, i, p);
  const { lines, ended } = await drain(reader, random);
  assert.ok(ended);
  await reader.close!();
  return lines;
}

function sorted(a: string[]): string[] {
  return [...a].sort();
}

describe('textFile', () => {
  let dir: string;
  let big: string;
  let bigText: string;
  let bigLines: string[];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'eddy-textfile-'));
    bigText = randomText(rng(42), 3 * 1024 * 1024);
    big = join(dir, 'big.txt');
    writeFileSync(big, bigText);
    bigLines = splitLines(bigText);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the big file has what the test means to cover', () => {
    assert.ok(Buffer.byteLength(bigText) > 3 * 1024 * 1024);
    assert.ok(bigLines.includes(''));
    assert.ok(bigText.includes('\r\n'));
    assert.ok(!bigText.endsWith('\n'));
    assert.ok(bigLines.some((l) => l.length > 256 * 1024));
  });

  for (let p = 1; p <= 5; p++) {
    it(`reads every line exactly once, in order, at parallelism ${p}`, async () => {
      const random = rng(p);
      const all: string[] = [];
      for (let i = 0; i < p; i++) all.push(...(await readSubtask(big, i, p, random)));
      // Ranges are contiguous, so subtask outputs in subtask order are the file's lines in order.
      assert.equal(all.length, bigLines.length);
      assert.deepEqual(all, bigLines);
    });
  }

  it('handles small and edge-case files at many parallelisms', async () => {
    const cases = ['', '\n', '\n\n', 'a', 'a\n', 'a\r\n', '\r', '\r\n\r\n', 'ab\ncd', '€\n😀\n\nx', 'x\n'.repeat(7), '\n'.repeat(5) + 'é'];
    let n = 0;
    for (const text of cases) {
      const path = join(dir, `small-${n++}.txt`);
      writeFileSync(path, text);
      const expected = splitLines(text);
      for (let p = 1; p <= 9; p++) {
        const all: string[] = [];
        for (let i = 0; i < p; i++) all.push(...(await readSubtask(path, i, p, rng(p))));
        assert.deepEqual(all, expected, `${JSON.stringify(text)} at p=${p}`);
      }
    }
  });

  it('snapshot and restore at random points continue with exactly the next line', async () => {
    const random = rng(7);
    for (const p of [1, 2, 3, 5]) {
      for (let i = 0; i < p; i++) {
        const expected = await readSubtask(big, i, p, random);
        const got: string[] = [];
        let state: unknown;
        // A chain of restarts, each after a random number of polls.
        for (let round = 0; ; round++) {
          const reader = await open(big, i, p, state);
          const { lines, ended } = await drain(reader, random, round > 6 ? Infinity : 1 + Math.floor(random() * 40));
          got.push(...lines);
          state = JSON.parse(JSON.stringify(reader.snapshotState!()));
          assert.equal(typeof (state as { offset: unknown }).offset, 'number');
          await reader.close!();
          if (ended) break;
        }
        assert.equal(got.length, expected.length, `p=${p} subtask ${i}`);
        assert.deepEqual(got, expected);
      }
    }
  });

  it('a finished reader restores to a finished reader', async () => {
    const reader = await open(big, 1, 2);
    await drain(reader, rng(1));
    const state = reader.snapshotState!();
    await reader.close!();
    const again = await open(big, 1, 2, state);
    const { lines, ended } = await drain(again, rng(2));
    assert.deepEqual(lines, []);
    assert.ok(ended);
  });

  it('restores the states of all readers into another parallelism (rescale)', async () => {
    const random = rng(11);
    for (const [from, to] of [
      [3, 2],
      [2, 5],
      [4, 4],
      [5, 1],
    ]) {
      const before: string[] = [];
      const states: unknown[] = [];
      for (let i = 0; i < from; i++) {
        const reader = await open(big, i, from);
        const { lines } = await drain(reader, random, Math.floor(random() * 30));
        before.push(...lines);
        states.push(JSON.parse(JSON.stringify(reader.snapshotState!())));
        await reader.close!();
      }
      // Then a second rescale from the middle of the first one.
      const mid: unknown[] = [];
      for (let i = 0; i < to; i++) {
        const reader = await open(big, i, to, states);
        const { lines } = await drain(reader, random, Math.floor(random() * 30));
        before.push(...lines);
        mid.push(JSON.parse(JSON.stringify(reader.snapshotState!())));
        await reader.close!();
      }
      const final = from;
      for (let i = 0; i < final; i++) {
        const reader = await open(big, i, final, mid);
        const { lines, ended } = await drain(reader, random);
        assert.ok(ended);
        before.push(...lines);
        await reader.close!();
      }
      assert.equal(before.length, bigLines.length, `${from} -> ${to} -> ${final}`);
      assert.deepEqual(sorted(before), sorted(bigLines));
    }
  });

  it("refuses one reader's state taken at another parallelism", async () => {
    const reader = await open(big, 0, 2);
    const state = reader.snapshotState!();
    await reader.close!();
    const other = await textFile(big).createReader(ctx(0, 3));
    assert.throws(
      () => other.restoreState!(state),
      (e: unknown) => e instanceof EddyError && e.code === 'UNSUPPORTED',
    );
  });

  it('a missing file fails validate and open with INPUT_NOT_FOUND', async () => {
    const missing = join(dir, 'nope', 'missing.txt');
    const expected = `input file '${missing}' does not exist; check the path (for example --arg input=...)`;
    const source = textFile(missing);
    assert.throws(
      () => source.validate!(),
      (e: unknown) => e instanceof EddyError && e.code === 'INPUT_NOT_FOUND' && e.message === expected,
    );
    const reader = await source.createReader(ctx(0, 1));
    await assert.rejects(
      async () => reader.open!(),
      (e: unknown) => e instanceof EddyError && e.code === 'INPUT_NOT_FOUND' && e.message === expected,
    );
  });

  it('a directory fails validate and open with a message saying so', async () => {
    const sub = join(dir, 'a-directory');
    mkdirSync(sub);
    const source = textFile(sub);
    const isDirError = (e: unknown) =>
      e instanceof EddyError && e.code === 'INPUT_NOT_FOUND' && /is a directory/.test(e.message) && e.message.includes(sub);
    assert.throws(() => source.validate!(), isDirError);
    const reader = await source.createReader(ctx(0, 1));
    await assert.rejects(async () => reader.open!(), isDirError);
  });

  it('describes itself as a stateful bounded source', () => {
    const s = textFile(big);
    assert.equal(s.stateful, true);
    assert.equal(s.bounded, true);
    assert.equal(s.kind, 'textFile');
  });
});
