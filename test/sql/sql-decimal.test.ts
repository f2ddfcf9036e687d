// test-lane: pair
/**
 * DECIMAL after Flink's rules: a literal's precision and scale as written, a product's type
 * (LogicalTypeMerging: precision p1 + p2 + 1, scale s1 + s2, capped at 38 keeping a scale of at
 * least 6), values exact (the nearest double to the exact decimal) and rounded HALF_UP when the
 * scale is cut. References are computed here with BigInt on decimal strings, never by eddy.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { runJob } from '../../core/index.js';
import { adjustPrecisionScale, decimalLiteralType, decimalMultiply, multiplicationType } from '../../core/sql/decimal.js';
import { T } from '../../core/sql/types.js';
import { readJsonLinesDir, writeJsonLines } from '../helpers/json-rows.js';
import { repoRoot } from '../helpers/paths.js';
import { prng } from '../helpers/prng.js';

const SQL_JOB = join(repoRoot, 'dist', 'core', 'sql', 'sql-job.js');

/** The exact product of two decimal strings, as a decimal string rounded HALF_UP (away from zero at .5) to `scale`. */
function exact(a: string, b: string, scale: number): string {
  const parse = (s: string): [bigint, number] => {
    const [i, f = ''] = s.replace('-', '').split('.');
    return [BigInt(`${s.startsWith('-') ? '-' : ''}${i}${f}`), f.length];
  };
  const [ia, sa] = parse(a);
  const [ib, sb] = parse(b);
  let p = ia * ib;
  const drop = sa + sb - scale;
  if (drop > 0) {
    const d = 10n ** BigInt(drop);
    const neg = p < 0n;
    const m = neg ? -p : p;
    p = m / d + ((m % d) * 2n >= d ? 1n : 0n);
    if (neg) p = -p;
  }
  const neg = p < 0n;
  const digits = (neg ? -p : p).toString().padStart(scale + 1, '0');
  return `${neg ? '-' : ''}${scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`}`;
}

describe('SQL DECIMAL', () => {
  it('types literals and products as Flink does', () => {
    assert.deepEqual(decimalLiteralType('0.908'), { name: 'DECIMAL', precision: 3, scale: 3 });
    assert.deepEqual(decimalLiteralType('12.50'), { name: 'DECIMAL', precision: 4, scale: 2 });
    assert.equal(decimalLiteralType('12'), undefined, 'an integer literal stays INT/BIGINT');
    // Nexmark q1: 0.908 * price (BIGINT = DECIMAL(19, 0)) is DECIMAL(23, 3), the sink's type.
    assert.deepEqual(multiplicationType(decimalLiteralType('0.908')!, T.BIGINT), { name: 'DECIMAL', precision: 23, scale: 3 });
    assert.deepEqual(multiplicationType(T.INT, decimalLiteralType('1.5')!), { name: 'DECIMAL', precision: 13, scale: 1 });
    // DECIMAL(20, 10) * DECIMAL(20, 10): 41 digits → 38, integer digits 21 kept, scale 17.
    const d20 = { name: 'DECIMAL' as const, precision: 20, scale: 10 };
    assert.deepEqual(multiplicationType(d20, d20), { name: 'DECIMAL', precision: 38, scale: 17 });
    // Scale never cut below 6: DECIMAL(38, 4) * DECIMAL(38, 4) keeps scale 6 (min(8, 6)).
    assert.deepEqual(adjustPrecisionScale(77, 8), { name: 'DECIMAL', precision: 38, scale: 6 });
    assert.equal(multiplicationType(T.DOUBLE, decimalLiteralType('0.5')!), undefined, 'DOUBLE arithmetic stays DOUBLE');
  });

  it('multiplies exactly and rounds HALF_UP when the scale is cut', () => {
    const q1 = decimalMultiply(3, 0, 3);
    const rnd = prng(5);
    for (let i = 0; i < 20_000; i++) {
      const price = Math.floor(rnd() * 10_000_000);
      assert.equal(q1(0.908, price), Number(exact('0.908', String(price), 3)), `0.908 * ${price}`);
    }
    const cut = decimalMultiply(3, 1, 3);
    assert.equal(cut(0.005, 0.5), 0.003, 'HALF_UP: 0.0025 → 0.003 (HALF_EVEN would give 0.002)');
    assert.equal(cut(-0.005, 0.5), -0.003, 'HALF_UP rounds away from zero');
    assert.equal(cut(0.004, 0.5), 0.002);
    // Beyond 2^53 the product is still exact (BigInt path).
    const big = decimalMultiply(2, 2, 4);
    assert.equal(big(123456789012.34, 98765.43), Number(exact('123456789012.34', '98765.43', 4)));
  });

  it('a SQL job writes 0.908 * price as the exact DECIMAL(23, 3) at parallelism 1 and 3', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-decimal-'));
    try {
      const rnd = prng(11);
      const rows = Array.from({ length: 400 }, (_, i) => ({ id: i, price: Math.floor(rnd() * 50_000_000) }));
      writeJsonLines(join(dir, 'in.jsonl'), rows);
      for (const parallelism of [1, 3]) {
        const out = join(dir, `out${parallelism}`);
        writeFileSync(
          join(dir, `q${parallelism}.sql`),
          `
CREATE TABLE src (id BIGINT, price BIGINT) WITH ('connector' = 'filesystem', 'path' = '${dir}/in.jsonl', 'format' = 'json');
CREATE TABLE dst (id BIGINT, euro DECIMAL(23, 3), scaled DECIMAL(24, 2)) WITH ('connector' = 'filesystem', 'path' = '${out}', 'format' = 'json');
INSERT INTO dst SELECT id, 0.908 * price, price * 1.25 FROM src;`,
        );
        await runJob(SQL_JOB, { parallelism, args: { 'sql.file': join(dir, `q${parallelism}.sql`) } });
        const got = readJsonLinesDir(out).sort((a, b) => (a.id as number) - (b.id as number));
        assert.equal(got.length, rows.length);
        for (const [i, r] of rows.entries()) {
          assert.deepEqual(
            got[i],
            { id: r.id, euro: Number(exact('0.908', String(r.price), 3)), scaled: Number(exact(String(r.price), '1.25', 2)) },
            `p${parallelism} row ${r.id}`,
          );
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
