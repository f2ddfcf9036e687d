/** Joins: interval join, window join, and regular joins (a changelog). */
import type { Expr, FromItem } from './ast.js';
import { sqlUnsupported } from './errors.js';
import type { PlanContext } from './planner.js';
import type { Rel } from './relation.js';

/** Plans a join; `where` holds the conditions of a comma join. */
export function planJoin(f: FromItem & { k: 'join' }, ctx: PlanContext, where?: Expr): Rel {
  void ctx;
  void where;
  throw sqlUnsupported(f.pos, 'JOIN');
}
