/**
 * Gathers the parse counts of line-parsing sources (reported by each reader subtask when it
 * ends or closes) into the per-operator metrics. A reader's counts continue from the restored
 * checkpoint, so the newest attempt's report of each subtask holds that subtask's totals.
 */
import type { ParseCounts, ParseCountsReport } from '../connectors/types.js';
import type { OperatorMetrics } from './options.js';

export class ParseCountsByOperator {
  private readonly bySubtask = new Map<string, Map<number, ParseCountsReport>>();

  add(uid: string, r: ParseCountsReport): void {
    let m = this.bySubtask.get(uid);
    if (!m) this.bySubtask.set(uid, (m = new Map()));
    const prev = m.get(r.subtask);
    if (!prev || prev.attempt <= r.attempt) m.set(r.subtask, r);
  }

  /** The metrics with `parse` set on every operator that reported counts. */
  attach(operators: OperatorMetrics[]): OperatorMetrics[] {
    for (const o of operators) {
      const m = this.bySubtask.get(o.uid);
      if (!m) continue;
      const sum: ParseCounts = { parsed: 0, skipped: 0, deadLettered: 0 };
      for (const r of m.values()) {
        sum.parsed += r.parsed;
        sum.skipped += r.skipped;
        sum.deadLettered += r.deadLettered;
      }
      o.parse = sum;
    }
    return operators;
  }
}
