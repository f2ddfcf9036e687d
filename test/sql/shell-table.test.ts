// test-lane: pair
// The shell's pure parts: a changelog applied to the materialized table (checked against a
// multiset reference built here from the changes), a frame that fits the terminal, and
// statements cut at `;` outside strings and comments.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MaterializedTable, type ResultChange } from '../../core/sql/shell/result-table.js';
import { columnWidths, renderFrame } from '../../core/sql/shell/render.js';
import { leadingWords, splitStatements } from '../../core/sql/shell/statements.js';
import { prng } from '../helpers/prng.js';

describe('materialized result table', () => {
  it('holds, after random inserts, updates and deletes, the multiset the changelog describes', () => {
    const rand = prng(17);
    const table = new MaterializedTable(['k', 'v']);
    const current = new Map<number, number>(); // reference: key -> value (an upsert table)
    for (let i = 0; i < 5000; i++) {
      const k = Math.floor(rand() * 50);
      const old = current.get(k);
      const v = Math.floor(rand() * 5);
      const changes: ResultChange[] = [];
      if (old === undefined) {
        changes.push({ kind: '+I', row: { k, v } });
        current.set(k, v);
      } else if (rand() < 0.2) {
        changes.push({ kind: '-D', row: { k, v: old } });
        current.delete(k);
      } else {
        changes.push({ kind: '-U', row: { k, v: old } }, { kind: '+U', row: { v, k } }); // key order must not matter
        current.set(k, v);
      }
      for (const c of changes) table.apply(c);
    }
    const got = table
      .all()
      .map((r) => `${r.k}=${r.v}`)
      .sort();
    const want = [...current].map(([k, v]) => `${k}=${v}`).sort();
    assert.deepEqual(got, want);
    assert.equal(table.unmatched, 0);
  });

  it('moves an updated row to the end and removes the newest equal row, as Flink table mode', () => {
    const t = new MaterializedTable(['a']);
    for (const a of [1, 2, 1, 3]) t.apply({ kind: '+I', row: { a } });
    t.apply({ kind: '-U', row: { a: 1 } });
    t.apply({ kind: '+U', row: { a: 9 } });
    assert.deepEqual(
      t.all().map((r) => r.a),
      [1, 2, 3, 9],
    );
    t.apply({ kind: '-D', row: { a: 7 } });
    assert.equal(t.unmatched, 1);
    assert.deepEqual(
      t.tail(2).map((r) => r.a),
      [3, 9],
    );
  });
});

describe('frame rendering', () => {
  it('fits width and height, shows the newest rows, right-aligns numbers and formats TIMESTAMP', () => {
    const t = new MaterializedTable(['number', 'name', 'ts']);
    for (let i = 0; i < 30; i++)
      t.apply({ kind: '+I', row: { number: i, name: `name-${'x'.repeat(i)}`, ts: Date.UTC(2015, 6, 15, 0, 0, i) } });
    const lines = renderFrame(t, [{ name: 'number' }, { name: 'name' }, { name: 'ts', type: 'TIMESTAMP(3)' }], {
      width: 60,
      height: 12,
      status: 'running',
    });
    assert.equal(lines.length, 11, 'height - 1 lines');
    for (const l of lines) assert.ok(l.length <= 59, `line within width - 1: ${JSON.stringify(l)}`);
    assert.match(lines[0], /^number \| name +\| ts/);
    // 12 rows of screen: header, rule, 8 rows, status; the rows are the newest 8 (22 … 29).
    const ids = lines.slice(2, -1).map((l) => Number(l.split('|')[0]));
    assert.deepEqual(ids, [22, 23, 24, 25, 26, 27, 28, 29]);
    assert.match(lines[2], /^ {4}22 \|/, 'numbers right-aligned');
    assert.ok(lines[2].includes('2015-07-15 00:00:2'), `TIMESTAMP shown as a date: ${lines[2]}`);
    assert.ok(lines[2].includes('~'), 'a value wider than its column is cut with a mark');
    assert.match(lines.at(-1)!, /^30 rows \(showing 23-30\) · 30 changes · running/);
  });

  it('cuts the widest columns first until the line fits', () => {
    assert.deepEqual(columnWidths([5, 20, 10], 100), [5, 20, 10]);
    const w = columnWidths([5, 20, 10], 30);
    assert.equal(w.reduce((s, x) => s + x, 0) + 6, 30);
    assert.equal(w[0], 5, 'the narrow column keeps its width');
  });
});

describe('statement splitting', () => {
  it('cuts at ; outside strings, quoted names and comments, and keeps the unfinished rest', () => {
    const text =
      "CREATE TABLE t (a INT) WITH ('x' = 'a;b');\n-- a comment; with a semicolon\nSELECT `we;ird` FROM t /* ; */ WHERE a = 1;  SELECT\n  a";
    const { statements, rest } = splitStatements(text);
    assert.deepEqual(statements, [
      "CREATE TABLE t (a INT) WITH ('x' = 'a;b')",
      '-- a comment; with a semicolon\nSELECT `we;ird` FROM t /* ; */ WHERE a = 1',
    ]);
    assert.equal(rest, '  SELECT\n  a');
    assert.equal(leadingWords(statements[1], 2), 'SELECT `WE;IRD`');
    assert.equal(leadingWords('  show\n tables ', 2), 'SHOW TABLES');
    assert.deepEqual(splitStatements(';; -- only\n;').statements, []);
    assert.equal(splitStatements('SELECT 1; -- done\n').rest, '', 'a comment alone is not an unfinished statement');
    assert.equal(splitStatements('SELECT 1; /* open').rest, ' /* open', 'an open block comment is');
  });
});
