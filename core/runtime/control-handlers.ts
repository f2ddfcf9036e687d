/**
 * What the control endpoint (and the dashboard's savepoint and stop buttons) reach of the
 * running job: savepoints through the current attempt's coordinator, stop, status.
 */
import { resolve } from 'node:path';
import type { CheckpointCoordinator } from '../checkpoint/coordinator.js';
import { defaultSavepointRoot } from '../checkpoint/savepoint.js';
import type { ControlHandlers } from '../control/control-server.js';
import { EddyError, messageOf } from '../failure.js';

/** What the control endpoint reaches of the running job. */
export interface LiveJob {
  job: string;
  attempt: number;
  coordinator: CheckpointCoordinator | undefined;
  savepoints: string[];
  stopSavepoint?: string;
}

export function controlHandlers(
  live: LiveJob,
  checkpointDir: string,
  stopper: AbortController,
  ended: Promise<void>,
  counts: () => { restarts: number; checkpointsCompleted: number },
): ControlHandlers {
  const coordinator = () => {
    const c = live.coordinator;
    if (!c) throw new EddyError('SAVEPOINT_FAILED', 'the job is restarting; try again in a moment');
    return c;
  };
  const savepoint = async (stop: boolean, target: string | undefined) => {
    const targetRoot = target !== undefined ? resolve(target) : defaultSavepointRoot(checkpointDir);
    try {
      const sp = await coordinator().triggerSavepoint(stop, targetRoot);
      live.savepoints.push(sp.path);
      if (stop) live.stopSavepoint = sp.path;
      return { id: sp.id, path: sp.path };
    } catch (err) {
      if (err instanceof EddyError) throw err;
      throw new EddyError('SAVEPOINT_FAILED', `savepoint failed${stop ? ' (the job keeps running)' : ''}: ${messageOf(err)}`);
    }
  };
  return {
    savepoint: (target: string | undefined) => savepoint(false, target),
    async stop(withSavepoint: boolean, target: string | undefined) {
      const sp = withSavepoint ? await savepoint(true, target) : undefined;
      if (!sp) stopper.abort(new EddyError('CANCELLED', 'job stopped by eddy stop'));
      await ended;
      return sp ?? {};
    },
    status: () => ({ job: live.job, attempt: live.attempt, ...counts() }),
  };
}
