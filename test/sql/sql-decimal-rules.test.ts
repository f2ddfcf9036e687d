// test-lane: pair
/**
 * DECIMAL arithmetic as Flink computes it, beyond multiplication: the result types of + - / %,
 * SUM and AVG (LogicalTypeMerging's rules, written out here), values exact and rounded HALF_UP
 * to the result's scale, NULL past the precision (Flink's DecimalData.fromBigDecimal), CAST and
 * the implicit cast into a sink column. The reference is exact arithmetic with BigInt on the
 * decimal strings, in this file; random operands include negatives, zero, 15 significant digits,
 * precision 38 and half-way cases.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { runJob } from '../../core/index.js';
import {
  additionType,
  avgType,
  decimalAdd,
  decimalCast,
  decimalDivide,
  decimalModulo,
  decimalMultiply,
  decimalSum,
  divisionType,
  moduloType,
  sumType,
} from '../../core/sql/decimal.js';
import { readUpsertJsonLines } from '../../core/sql/runtime/upsert-json-lines.js';
import { T, type SqlType } from '../../core/sql/types.js';
import { readJsonLinesDir } from '../helpers/json-rows.js';
import { repoRoot } from '../helpers/paths.js';
import { prng } from '../helpers/prng.js';

const SQL_JOB = join(repoRoot, 'dist', 'core', 'sql', 'sql-job.js');
const dec = (precision: number, scale: number): SqlType => ({ name: 'DECIMAL', precision, scale });

// ---- the reference: exact decimals as [unscaled BigInt, scale] ----
type D = [bigint, number];
function parse(s: string): D {
  const neg = s.startsWith('-');
  const [i, f = ''] = s.replace('-', '').split('.');
  const n = BigInt(`${i}${f}`);
  return [neg ? -n : n, f.length];
}
/** `d` at scale `s`, rounding HALF_UP (away from zero at .5) when digits are dropped. */
function at(d: D, s: number): bigint {
  const [n, sc] = d;
  if (s >= sc) return n * 10n ** BigInt(s - sc);
  const div = 10n ** BigInt(sc - s);
  const m = n < 0n ? -n : n;
  const q = m / div + ((m % div) * 2n >= div ? 1n : 0n);
  return n < 0n ? -q : q;
}
function text(n: bigint, s: number): string {
  const neg = n < 0n;
  const digits = (neg ? -n : n).toString().padStart(s + 1, '0');
  return `${neg ? '-' : ''}${s === 0 ? digits : `${digits.slice(0, -s)}.${digits.slice(-s)}`}`;
}
/** The value a DECIMAL(p, s) result holds: the double nearest the exact decimal, or null past p digits. */
function value(n: bigint, p: number, s: number): number | null {
  return (n < 0n ? -n : n) >= 10n ** BigInt(p) ? null : Number(text(n, s));
}
/**
 * x / y as Java's BigDecimal.divide(y, new MathContext(38, HALF_UP)) then setScale(s, HALF_UP)
 * (Flink's DecimalDataUtils.divide and fromBigDecimal): the quotient to 38 significant digits first.
 */
function javaDivide(x: D, y: D, s: number): bigint {
  const neg = x[0] < 0n !== y[0] < 0n;
  const [nx, ny] = [x[0] < 0n ? -x[0] : x[0], y[0] < 0n ? -y[0] : y[0]];
  // |x / y| = nx·10^(y scale) / (ny·10^(x scale)); find e with 10^37 ≤ |x / y|·10^e < 10^38 … by long division to 60 extra digits.
  const num = nx * 10n ** BigInt(y[1]);
  const den = ny * 10n ** BigInt(x[1]);
  if (num === 0n) return 0n;
  let e = 37 - (num.toString().length - den.toString().length);
  while (num * 10n ** BigInt(Math.max(e, 0)) < den * 10n ** BigInt(37 + Math.max(-e, 0))) e++;
  while (num * 10n ** BigInt(Math.max(e, 0)) >= den * 10n ** BigInt(38 + Math.max(-e, 0))) e--;
  // 38 significant digits: floor(|x / y|·10^e), HALF_UP on the remainder.
  const scaledNum = num * 10n ** BigInt(Math.max(e, 0));
  const scaledDen = den * 10n ** BigInt(Math.max(-e, 0));
  let q = scaledNum / scaledDen;
  if ((scaledNum % scaledDen) * 2n >= scaledDen) q += 1n;
  const r = at([q, e], s);
  return neg ? -r : r;
}
/** Flink's adjustPrecisionScale, written out: past 38 digits keep the integer digits, giving up scale down to min(s, 6). */
function adjust(p: number, s: number): SqlType {
  return p <= 38 ? dec(p, s) : dec(38, Math.max(38 - (p - s), Math.min(s, 6)));
}
const refAdd = (p1: number, s1: number, p2: number, s2: number) =>
  adjust(Math.max(p1 - s1, p2 - s2) + Math.max(s1, s2) + 1, Math.max(s1, s2));
const refDiv = (p1: number, s1: number, p2: number, s2: number) => {
  const s = Math.max(6, s1 + p2 + 1);
  return adjust(p1 - s1 + s2 + s, s);
};
const refMod = (p1: number, s1: number, p2: number, s2: number) => adjust(Math.min(p1 - s1, p2 - s2) + Math.max(s1, s2), Math.max(s1, s2));

/** A random decimal string of at most p digits and exactly s fraction digits (some zero, some negative). */
function randomDecimal(rnd: () => number, p: number, s: number): string {
  if (rnd() < 0.05) return '0';
  const intDigits = Math.floor(rnd() * (p - s + 1));
  let digits = '';
  for (let i = 0; i < intDigits + s; i++) digits += String(Math.floor(rnd() * 10));
  const n = BigInt(digits === '' ? '0' : digits) * (rnd() < 0.4 ? -1n : 1n);
  return text(n, s);
}

describe("SQL DECIMAL after Flink's rules", () => {
  it('result types of + - / %, SUM and AVG', () => {
    const rnd = prng(3);
    for (let i = 0; i < 2000; i++) {
      const p1 = 1 + Math.floor(rnd() * 38);
      const p2 = 1 + Math.floor(rnd() * 38);
      const s1 = Math.floor(rnd() * (p1 + 1));
      const s2 = Math.floor(rnd() * (p2 + 1));
      const [a, b] = [dec(p1, s1), dec(p2, s2)];
      assert.deepEqual(additionType(a, b), refAdd(p1, s1, p2, s2), `DECIMAL(${p1}, ${s1}) + DECIMAL(${p2}, ${s2})`);
      assert.deepEqual(divisionType(a, b), refDiv(p1, s1, p2, s2), `DECIMAL(${p1}, ${s1}) / DECIMAL(${p2}, ${s2})`);
      assert.deepEqual(moduloType(a, b), refMod(p1, s1, p2, s2), `DECIMAL(${p1}, ${s1}) % DECIMAL(${p2}, ${s2})`);
      assert.deepEqual(sumType(a), dec(38, s1), `SUM(DECIMAL(${p1}, ${s1}))`);
      assert.deepEqual(avgType(a), dec(38, Math.max(6, s1)), `AVG(DECIMAL(${p1}, ${s1}))`);
    }
    // Integers take part as DECIMAL(19, 0) and DECIMAL(10, 0); DOUBLE keeps arithmetic DOUBLE.
    assert.deepEqual(additionType(dec(5, 2), T.BIGINT), dec(22, 2));
    assert.deepEqual(divisionType(T.INT, dec(3, 1)), dec(17, 6));
    assert.equal(additionType(dec(5, 2), T.DOUBLE), undefined);
    assert.equal(additionType(T.INT, T.BIGINT), undefined, 'integer + integer is no DECIMAL');
  });

  it('+ - / % exact and HALF_UP against BigInt over random operands, NULL past the precision', () => {
    const rnd = prng(17);
    const shapes: Array<[number, number, number, number]> = [
      [10, 2, 12, 4],
      [15, 0, 15, 15],
      [7, 7, 3, 0],
      [38, 10, 20, 2],
      [38, 0, 38, 0],
      [5, 1, 5, 3],
    ];
    for (const [p1, s1, p2, s2] of shapes) {
      const [ta, tb] = [dec(p1, s1), dec(p2, s2)];
      const [tadd, tdiv, tmod] = [additionType(ta, tb)!, divisionType(ta, tb)!, moduloType(ta, tb)!];
      const add = decimalAdd(s1, s2, tadd, 1);
      const sub = decimalAdd(s1, s2, tadd, -1);
      const div = decimalDivide(s1, s2, tdiv);
      const mod = decimalModulo(s1, s2, tmod);
      // Operands with at most 15 significant digits: a double holds them exactly as written.
      for (let i = 0; i < 3000; i++) {
        const x = randomDecimal(rnd, Math.min(p1, 15), Math.min(s1, 15));
        const y = randomDecimal(rnd, Math.min(p2, 15), Math.min(s2, 15));
        const [dx, dy] = [parse(x), parse(y)];
        const what = `${x} ? ${y} (DECIMAL(${p1}, ${s1}), DECIMAL(${p2}, ${s2}))`;
        // Exact at the common scale, then rounded to the result's (smaller when 38 digits cut it).
        const sAdd = tadd.scale!;
        const common = Math.max(dx[1], dy[1], s1, s2);
        assert.equal(
          add(Number(x), Number(y)),
          value(at([at(dx, common) + at(dy, common), common], sAdd), tadd.precision!, sAdd),
          `+ ${what}`,
        );
        assert.equal(
          sub(Number(x), Number(y)),
          value(at([at(dx, common) - at(dy, common), common], sAdd), tadd.precision!, sAdd),
          `- ${what}`,
        );
        if (dy[0] === 0n) {
          assert.throws(() => div(Number(x), Number(y)), /division by zero/);
          continue;
        }
        assert.equal(div(Number(x), Number(y)), value(javaDivide(dx, dy, tdiv.scale!), tdiv.precision!, tdiv.scale!), `/ ${what}`);
        const sm = tmod.scale!;
        assert.equal(mod(Number(x), Number(y)), value(at([at(dx, common) % at(dy, common), common], sm), tmod.precision!, sm), `% ${what}`);
      }
    }
    // Past 38 digits: NULL, as Flink's DecimalData.fromBigDecimal.
    const add38 = decimalAdd(0, 0, dec(38, 0), 1);
    assert.equal(add38(9e37, 9e37), null, '9e37 + 9e37 has 39 digits');
    assert.equal(add38(4e37, 5e37), 9e37);
    const mul = decimalMultiply(0, 0, 0, 3);
    assert.equal(mul(31, 32), 992);
    assert.equal(mul(32, 32), null, '1024 does not fit DECIMAL(3, 0)');
    // Half-way cases: 1 / 8 = 0.125 → DECIMAL(…, 6) exact; 2 / 3 rounds up; -0.5 ulp rounds away from zero.
    const d11 = decimalDivide(0, 0, divisionType(dec(1, 0), dec(1, 0))!);
    assert.equal(d11(2, 3), 0.666667);
    assert.equal(d11(-2, 3), -0.666667);
    assert.equal(decimalAdd(3, 3, dec(5, 3), 1)(0.0005, 0), 0.001, 'a value with more digits than its scale is rounded HALF_UP first');
  });

  it('CAST and the sink column round HALF_UP and give NULL past the precision', () => {
    const c = decimalCast(5, 2);
    const cases: Array<[unknown, number | null]> = [
      [1.005, 1.01],
      [-1.005, -1.01],
      [1.004, 1],
      [2.675, 2.68],
      [999.994, 999.99],
      [999.995, null],
      [-999.995, null],
      ['12.345', 12.35],
      ['-0.005', -0.01],
      ['1e2', 100],
      ['abc', null],
      [0, 0],
      [null, null],
      [Infinity, null],
      [true, 1],
    ];
    for (const [v, want] of cases) assert.equal(c(v), want, `CAST(${String(v)} AS DECIMAL(5, 2))`);
    const rnd = prng(23);
    const c38 = decimalCast(38, 6);
    for (let i = 0; i < 5000; i++) {
      const x = randomDecimal(rnd, 15, 9);
      assert.equal(c38(Number(x)), value(at(parse(x), 6), 38, 6), `CAST(${x} AS DECIMAL(38, 6))`);
    }
  });

  it('SUM and AVG exact past 2^53 and with retractions', () => {
    const rnd = prng(29);
    for (const scale of [0, 2, 8]) {
      const agg = decimalSum(scale);
      let sum: number | string | null = null;
      let ref = 0n;
      const xs: string[] = [];
      for (let i = 0; i < 3000; i++) {
        const x = randomDecimal(rnd, 15, scale);
        xs.push(x);
        sum = agg.add(sum, Number(x), 1);
        ref += at(parse(x), scale);
      }
      // Retract a third: the sum is the exact sum of what remains.
      for (const x of xs.slice(0, 1000)) {
        sum = agg.add(sum, Number(x), -1);
        ref -= at(parse(x), scale);
      }
      assert.equal(agg.sum(sum), value(ref, 38, scale), `SUM at scale ${scale}`);
      const s6 = Math.max(6, scale);
      assert.equal(agg.avg(sum, 2000), value(javaDivide([ref, scale], [2000n, 0], s6), 38, s6), `AVG at scale ${scale}`);
    }
    // Past 2^53 (ten 15-digit values), merged (window slices) and retracted back below it.
    const agg = decimalSum(0);
    let big: number | string | null = null;
    for (let i = 0; i < 10; i++) big = agg.add(big, 999999999999999, 1);
    assert.equal(typeof big, 'string', 'past 2^53 the sum is a decimal string');
    assert.equal(agg.sum(agg.merge(big, big)), 19999999999999980);
    for (let i = 0; i < 9; i++) big = agg.add(big, 999999999999999, -1);
    assert.equal(agg.sum(big), 999999999999999);
  });

  describe('in a SQL job', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-decimal-rules-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const rnd = prng(31);
    const rows = Array.from({ length: 300 }, (_, i) => ({
      id: i,
      k: i % 4,
      ts: 1_000 * i,
      a: randomDecimal(rnd, 8, 2),
      b: randomDecimal(rnd, 10, 4),
    }));
    // JSON numbers written as the decimal text (as Flink's JSON format reads them).
    writeFileSync(join(dir, 'in.jsonl'), rows.map((r) => `{"id":${r.id},"k":${r.k},"ts":${r.ts},"a":${r.a},"b":${r.b}}`).join('\n') + '\n');

    // Parallelism 3 (records cross threads); EDDY_SOAK=1 adds 1.
    for (const parallelism of process.env.EDDY_SOAK === '1' ? [1, 3] : [3]) {
      it(`arithmetic, CAST, the sink's cast, SUM and AVG (window and GROUP BY) at parallelism ${parallelism}`, async () => {
        const out = join(dir, `p${parallelism}`);
        writeFileSync(
          join(dir, `q${parallelism}.sql`),
          `
CREATE TABLE src (id BIGINT, k INT, ts TIMESTAMP(3), a DECIMAL(8, 2), b DECIMAL(10, 4), WATERMARK FOR ts AS ts - INTERVAL '0' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '${dir}/in.jsonl', 'format' = 'json');
CREATE TABLE calc (id BIGINT, s DECIMAL(12, 4), d DECIMAL(12, 4), q DECIMAL(30, 15), m DECIMAL(10, 4), c DECIMAL(6, 1), narrow DECIMAL(9, 1))
  WITH ('connector' = 'filesystem', 'path' = '${out}/calc', 'format' = 'json');
CREATE TABLE win (k INT, ws TIMESTAMP(3), s DECIMAL(38, 2), av DECIMAL(38, 6)) WITH ('connector' = 'filesystem', 'path' = '${out}/win', 'format' = 'json');
CREATE TABLE grp (k INT, s DECIMAL(38, 4), av DECIMAL(38, 6), PRIMARY KEY (k) NOT ENFORCED) WITH ('connector' = 'filesystem', 'path' = '${out}/grp', 'format' = 'json');
INSERT INTO calc SELECT id, a + b, a - b, CASE WHEN b <> 0 THEN a / b END, CASE WHEN b <> 0 THEN a % b END, CAST(a * b AS DECIMAL(6, 1)), b FROM src;
INSERT INTO win SELECT k, window_start, SUM(a), AVG(a) FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '50' SECOND)) GROUP BY k, window_start, window_end;
INSERT INTO grp SELECT k, SUM(b), AVG(b) FROM src GROUP BY k;`,
        );
        await runJob(SQL_JOB, { parallelism, args: { 'sql.file': join(dir, `q${parallelism}.sql`) } });

        const calc = readJsonLinesDir(join(out, 'calc')).sort((x, y) => (x.id as number) - (y.id as number));
        assert.equal(calc.length, rows.length);
        for (const r of rows) {
          const [da, db] = [parse(r.a), parse(r.b)];
          // a + b: DECIMAL(13, 4), into DECIMAL(12, 4): NULL past 12 digits (none here: |a| < 10^6, |b| < 10^6).
          const sum = value(at(da, 4) + at(db, 4), 12, 4);
          const diff = value(at(da, 4) - at(db, 4), 12, 4);
          let q: number | null = null;
          let m: number | null = null;
          if (db[0] !== 0n) {
            // a / b: DECIMAL(8, 2) / DECIMAL(10, 4) is DECIMAL(23, 13); the sink's DECIMAL(30, 15) holds it unchanged.
            q = value(javaDivide(da, db, 13), 23, 13);
            m = value(at(da, 4) % at(db, 4), 10, 4);
          }
          // CAST(a * b AS DECIMAL(6, 1)): the exact product (scale 6) rounded to 1, NULL past 6 digits.
          const prod: D = [da[0] * db[0], 6];
          const c = value(at(prod, 1), 6, 1);
          // b into DECIMAL(9, 1): the sink's implicit cast, HALF_UP to one digit.
          const narrow = value(at(db, 1), 9, 1);
          assert.deepEqual(calc[r.id], { id: r.id, s: sum, d: diff, q, m, c, narrow }, `row ${r.id}: a = ${r.a}, b = ${r.b}`);
        }
        assert.ok(calc.some((r) => r.c === null) && calc.some((r) => r.c !== null), 'some products overflow DECIMAL(6, 1) and some do not');

        // TUMBLE 50 s over ts = 1000·id: window w holds ids 50w … 50w + 49.
        const win = readJsonLinesDir(join(out, 'win'));
        const wantWin = new Map<string, { s: number | null; av: number | null }>();
        for (let w = 0; w < rows.length / 50; w++) {
          for (let k = 0; k < 4; k++) {
            const xs = rows.filter((r) => r.k === k && Math.floor(r.ts / 50_000) === w).map((r) => at(parse(r.a), 2));
            const total = xs.reduce((x, y) => x + y, 0n);
            wantWin.set(`${k}@${w * 50_000}`, {
              s: value(total, 38, 2),
              av: value(javaDivide([total, 2], [BigInt(xs.length), 0], 6), 38, 6),
            });
          }
        }
        assert.equal(win.length, wantWin.size);
        for (const r of win) assert.deepEqual({ s: r.s, av: r.av }, wantWin.get(`${r.k}@${r.ws}`), `window ${r.k}@${r.ws}`);

        const grp = readUpsertJsonLines(join(out, 'grp')).sort((x, y) => (x.k as number) - (y.k as number));
        const wantGrp = [0, 1, 2, 3].map((k) => {
          const xs = rows.filter((r) => r.k === k).map((r) => at(parse(r.b), 4));
          const total = xs.reduce((x, y) => x + y, 0n);
          return { k, s: value(total, 38, 4), av: value(javaDivide([total, 4], [BigInt(xs.length), 0], 6), 38, 6) };
        });
        assert.deepEqual(grp, wantGrp);
      });
    }
  });
});
