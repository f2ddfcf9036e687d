/**
 * The barrier-alignment path: one checkpoint's barrier arriving on every input of a task, through
 * the aligned (exactly-once) and the at-least-once handler, with 1, 4 and 16 inputs. The host
 * only counts, so the figure is the handler's own cost (state machine, block/unblock calls).
 * A task call runs CHECKPOINTS checkpoints, so timer overhead does not swamp nanoseconds.
 */
import { createBarrierHandler, type BarrierHost, type BarrierMode } from '../../core/checkpoint/barrier-handler.js';
import { runGroup, type MicroRow } from './tiny.js';

export const INPUTS = [1, 4, 16];
const CHECKPOINTS = 1000;

export async function benchBarrier(timeMs: number): Promise<MicroRow[]> {
  const tasks = (['exactly-once', 'at-least-once'] as BarrierMode[]).flatMap((mode) =>
    INPUTS.map((inputs) => {
      const calls = { blocked: 0, triggered: 0 };
      const host: BarrierHost = {
        block: () => void calls.blocked++,
        unblockAll: () => {},
        triggerCheckpoint: () => void calls.triggered++,
        abortCheckpoint: (id) => {
          throw new Error(`barrier micro-benchmark: checkpoint ${id} aborted`);
        },
      };
      const handler = createBarrierHandler(mode, inputs, host);
      let id = 0;
      return {
        name: `${mode === 'exactly-once' ? 'aligned' : 'at-least-once'}, ${inputs} input${inputs > 1 ? 's' : ''}`,
        unitsPerCall: CHECKPOINTS,
        fn: () => {
          for (let k = 0; k < CHECKPOINTS; k++) {
            id++;
            for (let ch = 0; ch < inputs; ch++) handler.onBarrier(ch, id, 0);
          }
          if (calls.triggered !== id) throw new Error(`barrier micro-benchmark: ${calls.triggered} of ${id} checkpoints triggered`);
        },
        extra: () => ({ inputs }),
      };
    }),
  );
  return runGroup('barrier', 'checkpoints', timeMs, tasks);
}
