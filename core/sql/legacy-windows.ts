/**
 * Flink's legacy group windows, `GROUP BY k, SESSION(ts, INTERVAL …)` with SESSION_START /
 * SESSION_END (q11), rewritten into the window TVF form they are equivalent to: the FROM
 * relation gets the TVF's window columns and the calls become window_start / window_end /
 * window_time.
 */
import type { Expr, Select } from './ast.js';
import { sqlError } from './errors.js';
import type { PlanContext } from './plan-steps.js';
import type { Rel } from './relation.js';
import { planWindowTvf } from './window-tvf.js';

const GROUP_WINDOWS = new Set(['TUMBLE', 'HOP', 'SESSION']);
const PROPERTIES: Record<string, string> = { START: 'window_start', END: 'window_end', ROWTIME: 'window_time' };

/** Rewrites every node of `e` bottom-up with `f`. */
function mapExpr(e: Expr, f: (e: Expr) => Expr): Expr {
  const m = (x: Expr): Expr => mapExpr(x, f);
  switch (e.k) {
    case 'unary':
    case 'isnull':
    case 'cast':
    case 'extract':
      return f({ ...e, e: m(e.e) } as Expr);
    case 'binary':
      return f({ ...e, l: m(e.l), r: m(e.r) });
    case 'between':
      return f({ ...e, e: m(e.e), lo: m(e.lo), hi: m(e.hi) });
    case 'in':
      return f({ ...e, e: m(e.e), list: e.list.map(m) });
    case 'like':
      return f({ ...e, e: m(e.e), pattern: m(e.pattern) });
    case 'case':
      return f({
        ...e,
        operand: e.operand && m(e.operand),
        whens: e.whens.map(([a, b]) => [m(a), m(b)] as [Expr, Expr]),
        otherwise: e.otherwise && m(e.otherwise),
      });
    case 'call':
      return f({ ...e, args: e.args.map(m), filter: e.filter && m(e.filter) });
    default:
      return f(e);
  }
}

/** When `s` groups by a legacy group window: the relation with the window and the rewritten select. */
export function legacyGroupWindow(s: Select, rel: Rel, ctx: PlanContext): { rel: Rel; s: Select } | undefined {
  const idx = s.groupBy.findIndex((g) => g.k === 'call' && GROUP_WINDOWS.has(g.name));
  if (idx < 0) return undefined;
  const call = s.groupBy[idx] as Expr & { k: 'call' };
  const time = call.args[0];
  if (!time || time.k !== 'ref') throw sqlError(call.pos, `${call.name}(time column, INTERVAL …) takes the time column first`);
  const windowed = planWindowTvf(
    {
      fn: call.name as 'TUMBLE' | 'HOP' | 'SESSION',
      input: { k: 'table', name: '', pos: call.pos },
      timeCol: time.parts[time.parts.length - 1]!,
      timePos: time.pos,
      partitionBy: [],
      args: call.args.slice(1),
      pos: call.pos,
    },
    rel,
    ctx,
  );
  const ref = (name: string, pos: Expr['pos']): Expr => ({ k: 'ref', parts: [name], pos });
  const rewrite = (e: Expr): Expr =>
    mapExpr(e, (x) => {
      if (x.k !== 'call') return x;
      const m = /^(TUMBLE|HOP|SESSION)_(START|END|ROWTIME)$/.exec(x.name);
      if (!m) return x;
      if (m[1] !== call.name) throw sqlError(x.pos, `${x.name} does not match the GROUP BY window ${call.name}(…)`);
      return ref(PROPERTIES[m[2]!]!, x.pos);
    });
  const groupBy = [...s.groupBy.slice(0, idx), ref('window_start', call.pos), ref('window_end', call.pos), ...s.groupBy.slice(idx + 1)];
  return {
    rel: windowed,
    s: { ...s, groupBy, items: s.items.map((it) => ({ ...it, e: rewrite(it.e) })), having: s.having && rewrite(s.having) },
  };
}
