/** Window table functions: TUMBLE, HOP, CUMULATE, SESSION. */
import type { WindowTvf } from './ast.js';
import { sqlUnsupported } from './errors.js';
import type { PlanContext } from './planner.js';
import type { Rel } from './relation.js';

/** Plans a window TVF over `input`. */
export function planWindowTvf(tvf: WindowTvf, input: Rel, ctx: PlanContext): Rel {
  void input;
  void ctx;
  throw sqlUnsupported(tvf.pos, 'window TVFs');
}
