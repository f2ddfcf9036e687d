/** Top-N: `SELECT … FROM (SELECT …, ROW_NUMBER() OVER (PARTITION BY … ORDER BY …) AS rn FROM …) WHERE rn <= N`. */
import type { Select } from './ast.js';
import { sqlUnsupported } from './errors.js';
import type { PlanContext } from './planner.js';
import type { Rel } from './relation.js';

/** The Top-N pattern in `s`, if it is one. */
export function topNPattern(s: Select): object | undefined {
  void s;
  return undefined;
}

/** Plans a Top-N. */
export function planTopN(p: object, s: Select, ctx: PlanContext): Rel {
  void p;
  void ctx;
  throw sqlUnsupported(s.pos, 'Top-N');
}
