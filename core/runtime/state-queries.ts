/**
 * Queryable state on the main thread: a query for one key of a keyed state goes to the task
 * that owns the key's key group, as a command over its port, and its answer comes back as a
 * report. A query the task does not answer in time fails (the task may be stuck), and so does
 * every query still open when the attempt ends.
 */
import { displayName } from '../graph/stream-graph.js';
import { keyGroupFor, subtaskForKeyGroup } from '../state/key-groups.js';
import type { Deployment } from './deployment.js';
import type { JobPlan } from './job-plan.js';
import type { PortCommand, TaskReport } from './messages.js';

/** A state query the owning task has not answered by then fails (the task may be stuck). */
const QUERY_TIMEOUT_MS = 5_000;

export type StateValue = Extract<TaskReport, { type: 'state-value' }>;

export class StateQueries {
  private nextQuery = 0;
  private readonly open = new Map<number, (r: StateValue) => void>();

  constructor(
    private readonly plan: JobPlan,
    private readonly deployment: Deployment,
    /** Sends a command to task `k` of the deployment. */
    private readonly command: (k: number, cmd: PortCommand) => void,
  ) {}

  /** Asks the task holding `key`'s key group of operator `uid` for its value of state `name`. */
  ask(uid: string, name: string, key: unknown): Promise<{ found: boolean; value?: unknown }> {
    const task = this.ownerOf(uid, key);
    if (task < 0) return Promise.reject(new Error(`no running operator '${uid}' with keyed state`));
    const requestId = this.nextQuery++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => settle({ type: 'state-value', requestId, found: false, error: `no answer within ${QUERY_TIMEOUT_MS} ms` }),
        QUERY_TIMEOUT_MS,
      );
      const settle = (r: StateValue) => {
        clearTimeout(timer);
        this.open.delete(requestId);
        if (r.error !== undefined) reject(new Error(r.error));
        else resolve({ found: r.found, value: r.value });
      };
      this.open.set(requestId, settle);
      this.command(task, { type: 'query', requestId, uid, name, key });
    });
  }

  /** A task answered. */
  answered(r: StateValue): void {
    this.open.get(r.requestId)?.(r);
  }

  /** The attempt ended: every query still open fails. */
  endAll(): void {
    for (const answer of this.open.values()) answer({ type: 'state-value', requestId: -1, found: false, error: 'the attempt ended' });
  }

  /** The task index of the subtask of `uid` that owns `key`'s key group, or -1. */
  private ownerOf(uid: string, key: unknown): number {
    const g = this.plan.jobGraph;
    const vertex = g.vertices.find((v) => v.nodes.some((n) => displayName(n) === uid && n.keySelector !== undefined));
    if (!vertex) return -1;
    const maxP = this.plan.settings.maxParallelism;
    const subtask = subtaskForKeyGroup(keyGroupFor(key, maxP), maxP, vertex.parallelism);
    return this.deployment.tasks.findIndex((t) => t.spec.vertex === vertex.id && t.spec.subtask === subtask);
  }
}
