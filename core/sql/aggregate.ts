/** Aggregation: window aggregates over window TVFs, and non-windowed GROUP BY (a changelog). */
import type { Select } from './ast.js';
import { sqlUnsupported } from './errors.js';
import type { PlanContext } from './planner.js';
import type { Rel } from './relation.js';

/** Plans GROUP BY / aggregates of `s` over `rel`. */
export function planAggregate(s: Select, rel: Rel, ctx: PlanContext): Rel {
  void rel;
  void ctx;
  throw sqlUnsupported(s.pos, 'aggregation');
}
