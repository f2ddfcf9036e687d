/**
 * What a run opens to the outside while it runs: the control endpoint (savepoints, stop,
 * status), which lives beside the checkpoints and so only when there is a checkpoint
 * directory, and with --web-ui the dashboard, whose savepoint and stop buttons reach the same
 * handlers with the same token.
 */
import { startControlServer, type ControlHandlers, type ControlServer } from '../control/control-server.js';
import type { Dashboard } from '../observe/dashboard.js';
import type { JobRecord } from '../observe/job-record.js';
import type { RunOptions } from './options.js';

export interface RunEndpoints {
  /** Closes the dashboard, then the control endpoint. */
  close(): Promise<void>;
}

export interface EndpointOptions {
  jobPath: string;
  checkpointDir: string | undefined;
  /** What the control endpoint reaches of the job; undefined when there is no checkpoint directory. */
  handlers: ControlHandlers | undefined;
  record: JobRecord;
  overrides: Pick<RunOptions, 'webUi' | 'webUiHost'>;
  /** The caller's callbacks: told the checkpoint directory once the control endpoint listens, and the dashboard's URL. */
  options: Pick<RunOptions, 'onStart' | 'onWebUi'>;
  restoredFrom: { checkpointDir: string; checkpointId: number } | undefined;
}

/** Opens the endpoints; if one fails to open, what was opened before is closed again. */
export async function openEndpoints(o: EndpointOptions): Promise<RunEndpoints> {
  let control: ControlServer | undefined;
  let dashboard: Dashboard | undefined;
  const close = async () => {
    await dashboard?.close();
    await control?.close();
  };
  try {
    if (o.checkpointDir && o.handlers) {
      control = await startControlServer(o.checkpointDir, o.jobPath, o.handlers);
      o.options.onStart?.({ checkpointDir: o.checkpointDir, restoredFrom: o.restoredFrom });
    }
    if (o.overrides.webUi !== undefined) {
      // Loaded only when asked for: prom-client and the server cost every other job start-up time.
      const { startDashboard } = await import('../observe/dashboard.js');
      dashboard = await startDashboard({
        port: o.overrides.webUi,
        host: o.overrides.webUiHost,
        record: o.record,
        control: control && o.handlers ? { token: control.token, handlers: o.handlers } : undefined,
      });
      o.options.onWebUi?.(dashboard.url);
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { close };
}
