/**
 * The runtime context a user function receives last. One object per operator instance, whose
 * `currentKey` the keyed wrapper updates per record: nothing is allocated per call.
 */
import type { Collector, OutputTag, RuntimeContext, TimerService } from '../contract/functions.js';
import type { StateAccessor } from '../contract/state.js';
import { EddyError } from '../failure.js';
import { OperatorStateAccessor } from '../state/state-accessor.js';
import type { OperatorRuntime } from './operator.js';

const NO_TIMERS: TimerService = {
  currentProcessingTime: () => Date.now(),
  currentWatermark: () => -Infinity,
  registerEventTimeTimer: noTimers,
  registerProcessingTimeTimer: noTimers,
  deleteEventTimeTimer: noTimers,
  deleteProcessingTimeTimer: noTimers,
};

function noTimers(): never {
  throw new EddyError('UNSUPPORTED', 'timers are available in process() on a keyed stream only');
}

export class OperatorContext implements RuntimeContext {
  readonly state: StateAccessor;
  timers: TimerService = NO_TIMERS;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly operatorUid: string;
  readonly attempt: number;
  /** In onTimer: which clock fired the timer. */
  timeDomain: 'event' | 'processing' = 'event';
  private readonly sides = new Map<string, Collector<unknown> | null>();

  constructor(private readonly rt: OperatorRuntime) {
    this.subtaskIndex = rt.subtaskIndex;
    this.parallelism = rt.parallelism;
    this.maxParallelism = rt.maxParallelism;
    this.operatorUid = rt.displayName;
    this.attempt = rt.attempt;
    this.state = new OperatorStateAccessor(
      { uid: rt.uid, displayName: rt.displayName, subtask: rt.subtaskIndex },
      rt.keyedStore,
      rt.operatorState,
    );
  }

  get currentKey(): unknown {
    return this.rt.keyedStore?.currentKey;
  }

  /** Event timestamp of the current record (in onTimer: the timer's time); NaN if none. */
  get timestamp(): number {
    return this.rt.time.timestamp;
  }

  /** The side output of a tag, or undefined when nothing consumes it. */
  sideOutput(tagId: string): Collector<unknown> | undefined {
    let c = this.sides.get(tagId);
    if (c === undefined) {
      c = this.rt.sideOutput(tagId) ?? null;
      this.sides.set(tagId, c);
    }
    return c ?? undefined;
  }

  output<X>(tag: OutputTag<X>, value: X): void {
    const out = this.sideOutput(tag.id);
    if (!out) {
      throw new EddyError(
        'UNSUPPORTED',
        `side output '${tag.id}' of '${this.operatorUid}' has no consumer; use getSideOutput(tag) on the stream`,
      );
    }
    out.collect(value);
  }
}
