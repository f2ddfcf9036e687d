/**
 * What collect sinks committed, kept once per transaction chunk however often a restore
 * re-commits it, and how each keyed operator subtask restored its state.
 */
import type { CollectedChunk } from '../connectors/types.js';
import type { StateRestore } from './options.js';
import { ParseCountsByOperator } from './parse-counts.js';

export class CollectedRecords {
  readonly byUid: Record<string, unknown[]> = {};
  /** How each keyed operator subtask restored its state, in the order reported. */
  readonly restores: StateRestore[] = [];
  /** Lines parsed, skipped and dead-lettered by line-parsing sources. */
  readonly parseCounts = new ParseCountsByOperator();
  /** Re-published records a sink's target de-duplicated, by sink uid. */
  readonly duplicatesDropped: Record<string, number> = {};
  private readonly seen = new Set<string>();

  add(uid: string, c: CollectedChunk): void {
    const key = `${c.id}#${c.part}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const list = (this.byUid[uid] ??= []);
    for (const r of c.records) list.push(r);
  }
}
