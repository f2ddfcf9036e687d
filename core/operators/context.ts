/**
 * The runtime context a user function receives last. One object per operator instance, whose
 * `currentKey` the keyed wrapper updates per record: nothing is allocated per call.
 */
import type { OutputTag, RuntimeContext, TimerService } from '../api/functions.js';
import type { StateAccessor } from '../api/state.js';
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
  /** Side outputs by tag id, wired by the operator that owns this context. */
  sideOutputs: Map<string, (value: unknown) => void> | undefined;

  constructor(private readonly rt: OperatorRuntime) {
    this.subtaskIndex = rt.subtaskIndex;
    this.parallelism = rt.parallelism;
    this.maxParallelism = rt.maxParallelism;
    this.operatorUid = rt.displayName;
    this.attempt = rt.attempt;
    this.state = new OperatorStateAccessor(
      { uid: rt.node.uid, displayName: rt.displayName, subtask: rt.subtaskIndex },
      rt.keyedStore,
      rt.operatorState,
    );
  }

  get currentKey(): unknown {
    return this.rt.keyedStore?.currentKey;
  }

  output<X>(tag: OutputTag<X>, value: X): void {
    const emit = this.sideOutputs?.get(tag.id);
    if (!emit) {
      throw new EddyError('UNSUPPORTED', `side output '${tag.id}' of '${this.operatorUid}' has no consumer; use getSideOutput(tag) on the stream`);
    }
    emit(value);
  }
}
