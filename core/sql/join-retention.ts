/**
 * State retention for a regular join derived from its time bounds (Nexmark q7). A regular join
 * keeps every row of both sides, since any later row of the other side may match it. When one
 * side S is append-only with a time attribute t, and the other side O has a column c that every
 * later O row holds ahead of the watermark (a window aggregate's window_end: relation.ts
 * `aheadOfWatermark`, c ≥ watermark + g), a conjunct `S.t + a >= O.c + b` (or `>`, or mirrored)
 * says a pair needs c ≤ S.t + a - b. Once the watermark W has W + g > S.t + a - b no later O row
 * can meet it, so S's row is dropped from state at W ≥ S.t - lo - g + 1 (lo = b - a): the
 * result is exactly the regular join's. O's rows are kept (S rows may come late, and a regular
 * join still joins them). A NULL S.t meets no conjunct, so such a row is never kept.
 */
import type { Expr } from './ast.js';
import { exprText } from './plan-steps.js';
import type { Rel, Row } from './relation.js';
import { resolveRef } from './scope.js';

/** Which side's rows expire, and the event time at which a row of it can no longer match. */
export interface JoinRetention {
  side: 0 | 1;
  /** The watermark at which `row` (of `side`) is dropped; -Infinity for a row that matches nothing later. */
  expiresAt: (row: Row) => number;
  /** What EXPLAIN prints. */
  detail: string;
}

/** `column ± INTERVAL …` over `rel`'s fields, for a column whose key `accept`s: the key and the constant offset. */
export function offsetTerm(e: Expr, rel: Rel, accept: (key: string) => boolean): { key: string; offset: number } | undefined {
  if (e.k === 'ref') {
    try {
      const res = resolveRef(rel.fields, e);
      return res.path.length === 0 && accept(res.key) ? { key: res.key, offset: 0 } : undefined;
    } catch {
      return undefined;
    }
  }
  if (e.k === 'binary' && (e.op === '+' || e.op === '-') && e.r.k === 'interval') {
    const t = offsetTerm(e.l, rel, accept);
    return t && { key: t.key, offset: t.offset + (e.op === '+' ? e.r.ms : -e.r.ms) };
  }
  return undefined;
}

/** The lower bound `lo` of S.t - O.c that conjunct `c` states (S.t >= O.c + lo), if it is one. */
function lowerBound(c: Expr, s: Rel, o: Rel, sTime: string): { lo: number; g: number } | undefined {
  if (c.k !== 'binary' || !['<', '<=', '>', '>='].includes(c.op)) return undefined;
  const ahead = o.aheadOfWatermark!;
  const isS = (e: Expr) => offsetTerm(e, s, (k) => k === sTime);
  const isO = (e: Expr) => offsetTerm(e, o, (k) => ahead[k] !== undefined);
  // Written as S-term GREATER O-term: `S >= O`, `S > O`, `O <= S`, `O < S`.
  let big: Expr;
  let small: Expr;
  if (c.op === '>=' || c.op === '>') [big, small] = [c.l, c.r];
  else [big, small] = [c.r, c.l];
  const st = isS(big);
  const ot = isO(small);
  if (st === undefined || ot === undefined) return undefined;
  const strict = c.op === '>' || c.op === '<' ? 1 : 0;
  return { lo: ot.offset - st.offset + strict, g: ahead[ot.key]! };
}

/** The retention the conjuncts `conds` of a join of `l` and `r` allow, if any. */
export function joinRetention(l: Rel, r: Rel, conds: readonly Expr[]): JoinRetention | undefined {
  for (const [side, s, o] of [
    [0, l, r],
    [1, r, l],
  ] as const) {
    const sTime = s.rowtime;
    if (s.updating || sTime === undefined || o.updating || o.aheadOfWatermark === undefined) continue;
    let delta = Infinity;
    const used: Expr[] = [];
    for (const c of conds) {
      const b = lowerBound(c, s, o, sTime);
      if (b === undefined) continue;
      delta = Math.min(delta, 1 - b.lo - b.g);
      used.push(c);
    }
    if (used.length === 0) continue;
    const d = delta;
    return {
      side,
      expiresAt: (row) => {
        const t = row[sTime];
        return typeof t === 'number' ? t + d : -Infinity;
      },
      detail: `${side === 0 ? 'left' : 'right'} rows kept until the watermark passes ${sTime} + ${d} ms (${used.map(exprText).join(' AND ')})`,
    };
  }
  return undefined;
}
