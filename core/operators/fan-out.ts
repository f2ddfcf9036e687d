/**
 * Where a chain forks: an operator whose records go to several chained consumers (and maybe to
 * its own task outputs) hands each record to every one of them in turn, uncopied. Flink with
 * object reuse on does the same (CopyingBroadcastingOutputCollector copies only the StreamRecord
 * wrapper: value shared, timestamp per branch). Operators leave their input alone, so one object
 * serves every branch; an operator that changes it in place is never chained beside another
 * (job-graph.ts). The timestamp is the task's one mutable field here: a branch may set it (a
 * timestamp assigner, a bundle or window emitting), so each branch, and the caller, gets it back.
 */
import type { Collector } from '../contract/functions.js';
import type { TaskTime } from '../time/task-time.js';

export function fanOut(targets: readonly Collector<unknown>[], time: TaskTime): Collector<unknown> {
  return targets.length === 2 ? new FanOutTwo(targets[0], targets[1], time) : new FanOutMany(targets, time);
}

/** The common fork (a source read by two views): two direct calls, no loop. */
class FanOutTwo implements Collector<unknown> {
  constructor(
    private readonly a: Collector<unknown>,
    private readonly b: Collector<unknown>,
    private readonly time: TaskTime,
  ) {}
  collect(value: unknown): void {
    const ts = this.time.timestamp;
    this.a.collect(value);
    this.time.timestamp = ts;
    this.b.collect(value);
    this.time.timestamp = ts;
  }
}

class FanOutMany implements Collector<unknown> {
  constructor(
    private readonly targets: readonly Collector<unknown>[],
    private readonly time: TaskTime,
  ) {}
  collect(value: unknown): void {
    const ts = this.time.timestamp;
    const t = this.targets;
    for (let i = 0; i < t.length; i++) {
      this.time.timestamp = ts;
      t[i].collect(value);
    }
    this.time.timestamp = ts;
  }
}
