/** Window assigners and triggers, as job modules import them from 'eddy'. */
export {
  TumblingEventTimeWindows,
  TumblingProcessingTimeWindows,
  SlidingEventTimeWindows,
  SlidingProcessingTimeWindows,
  EventTimeSessionWindows,
  ProcessingTimeSessionWindows,
  GlobalWindows,
  type WindowAssigner,
} from '../time/windows/assigners.js';
export {
  CountTrigger,
  EventTimeTrigger,
  ProcessingTimeTrigger,
  PurgingTrigger,
  type Trigger,
  type TriggerContext,
  type TriggerResult,
  type TriggerState,
} from '../time/windows/triggers.js';
export type { TimeWindow } from '../time/windows/window.js';
export type { ProcessWindowFunction, WindowContext } from '../operators/window.js';
export { WindowedStream } from './windowed-stream.js';
export { AllWindowedStream, type ProcessAllWindowFunction } from './all-windowed-stream.js';
