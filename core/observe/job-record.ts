/**
 * Everything the dashboard shows of one job, kept on the main thread: the graph, the state,
 * the metrics sampler, the checkpoint history with each task's phases, and the exceptions
 * behind restarts. It listens to the attempts (JobEvents); views.ts shapes it for the REST
 * API, and when the job ends those views are archived as JSON into the checkpoint directory
 * (archive.ts), which `eddy ui DIR` serves with the same page.
 */
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import type { CheckpointPhases, CheckpointStats, SnapshotKind, SubtaskAck } from '../checkpoint/coordinator.js';
import { displayName } from '../graph/stream-graph.js';
import { exitNodes } from '../graph/job-graph.js';
import type { ExceptionEntry } from './failure-history.js';
import type { JobEvents, StateQuery } from './job-events.js';
import type { ObservedDeployment, ObservedPlan } from './observed-job.js';
import { MetricsSampler } from './sampler.js';

export type JobState = 'RUNNING' | 'RESTARTING' | 'FINISHED' | 'FAILED' | 'CANCELED';

// The exceptions tab lists the same entries as JobResult.exceptions (one history, two readers).
export type { ExceptionEntry };

export interface TaskCheckpointDetail {
  vertex: number;
  subtask: number;
  ackTimestamp: number;
  phases: CheckpointPhases;
  bytes: number;
}

export interface CheckpointEntry {
  id: number;
  kind: SnapshotKind;
  status: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  triggerTimestamp: number;
  latestAckTimestamp?: number;
  numAcknowledgedSubtasks: number;
  numSubtasks: number;
  durationMs?: number;
  bytes?: number;
  phases?: CheckpointPhases;
  failureReason?: string;
  tasks: TaskCheckpointDetail[];
}

/** Points of the throughput chart: time and records out per second of each vertex. */
export interface Series {
  t: number[];
  byVertex: number[][];
}

/** How many checkpoints the history keeps (Flink's web.checkpoints.history is 10). */
const CHECKPOINT_HISTORY = 50;
const SERIES_POINTS = 600;
const SAMPLE_INTERVAL_MS = 1000;

export class JobRecord implements JobEvents {
  readonly id = randomBytes(16).toString('hex');
  readonly name: string;
  readonly startTime = Date.now();
  endTime: number | undefined;
  state: JobState = 'RUNNING';
  attempt = 0;
  restarts = 0;
  readonly sampler: MetricsSampler;
  readonly checkpoints: CheckpointEntry[] = [];
  readonly counts = { triggered: 0, completed: 0, failed: 0 };
  readonly exceptions: ExceptionEntry[] = [];
  readonly series: Series;
  /** Per keyed operator uid and subtask: bytes of its keyed state in the last completed checkpoint. */
  readonly stateBytes = new Map<string, number>();
  private query: StateQuery | undefined;
  private deployment: ObservedDeployment | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pendingBytes = new Map<string, number>();

  constructor(
    readonly plan: ObservedPlan,
    readonly jobPath: string,
  ) {
    this.name = basename(jobPath).replace(/\.[cm]?[jt]s$/, '');
    this.sampler = new MetricsSampler(plan);
    this.series = { t: [], byVertex: plan.jobGraph.vertices.map(() => []) };
  }

  /** Samples the counters every second from now on (only while someone watches: the dashboard). */
  startSampling(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), SAMPLE_INTERVAL_MS);
    this.timer.unref();
    this.tick();
  }

  private tick(): void {
    this.sampler.sample();
    const s = this.series;
    s.t.push(Date.now() / 1000);
    this.plan.jobGraph.vertices.forEach((v, i) => {
      const head = this.sampler.subtasks[v.nodes[0].id];
      // A sink emits nothing: its chart line is what it takes in.
      const perSecond =
        v.outputs.length === 0
          ? head.reduce((a, m) => a + m.numRecordsInPerSecond, 0)
          : exitNodes(v).reduce((a, n) => a + this.sampler.subtasks[n.id].reduce((b, m) => b + m.numRecordsOutPerSecond, 0), 0);
      s.byVertex[i].push(perSecond);
    });
    if (s.t.length > SERIES_POINTS) {
      s.t.shift();
      for (const v of s.byVertex) v.shift();
    }
  }

  attemptStarted(attempt: number, deployment: ObservedDeployment, query: StateQuery): void {
    this.attempt = attempt;
    this.deployment = deployment;
    this.query = query;
    this.sampler.attach(deployment);
    if (this.state === 'RESTARTING') this.state = 'RUNNING';
  }

  attemptEnded(): void {
    this.query = undefined;
    // A checkpoint still pending when its attempt ends never completes.
    for (const c of this.checkpoints)
      if (c.status === 'IN_PROGRESS') this.checkpointFailed(c.id, 'the job attempt ended before it completed');
    if (this.timer) this.sampler.sample();
  }

  checkpointTriggered(id: number, timestamp: number, kind: SnapshotKind): void {
    this.counts.triggered++;
    this.pendingBytes = new Map();
    const numSubtasks = this.deployment?.tasks.length ?? 0;
    this.checkpoints.push({
      id,
      kind,
      status: 'IN_PROGRESS',
      triggerTimestamp: timestamp,
      numAcknowledgedSubtasks: 0,
      numSubtasks,
      tasks: [],
    });
    if (this.checkpoints.length > CHECKPOINT_HISTORY) this.checkpoints.shift();
  }

  taskAcknowledged(id: number, task: number, phases: CheckpointPhases, acks: SubtaskAck[]): void {
    const c = this.checkpointEntry(id);
    const spec = this.deployment?.tasks[task]?.spec;
    if (!c || !spec) return;
    let bytes = 0;
    for (const a of acks) {
      const keyed = a.keyed?.file.bytes ?? 0;
      bytes += keyed + (a.operator?.bytes ?? 0);
      if (a.keyed) this.pendingBytes.set(`${a.uid}/${a.subtask}`, keyed);
    }
    const now = Date.now();
    c.numAcknowledgedSubtasks++;
    c.latestAckTimestamp = now;
    c.tasks.push({ vertex: spec.vertex, subtask: spec.subtask, ackTimestamp: now, phases, bytes });
  }

  checkpointCompleted(stats: CheckpointStats): void {
    this.counts.completed++;
    const c = this.checkpointEntry(stats.id);
    if (c) {
      c.status = 'COMPLETED';
      c.durationMs = stats.durationMs;
      c.bytes = stats.bytes;
      c.phases = { startDelayMs: stats.startDelayMs, alignmentMs: stats.alignmentMs, syncMs: stats.syncMs, asyncMs: stats.asyncMs };
    }
    for (const [k, v] of this.pendingBytes) this.stateBytes.set(k, v);
  }

  checkpointFailed(id: number, reason: string): void {
    this.counts.failed++;
    const c = this.checkpointEntry(id);
    if (c) {
      c.status = 'FAILED';
      c.failureReason = reason;
      c.durationMs = Date.now() - c.triggerTimestamp;
    }
  }

  /** A failure ended an attempt: the entry the job's failure history recorded for it. */
  failed(e: ExceptionEntry): void {
    this.exceptions.push(e);
  }

  restarting(): void {
    this.restarts++;
    this.state = 'RESTARTING';
  }

  /** The job's final state (the first call wins). */
  finish(state: Exclude<JobState, 'RUNNING' | 'RESTARTING'>): void {
    if (this.endTime !== undefined) return;
    this.endTime = Date.now();
    this.state = state;
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.sampler.settle();
    }
  }

  /** Queryable state of the running attempt. */
  queryState(uid: string, name: string, key: unknown): Promise<{ found: boolean; value?: unknown }> {
    if (!this.query)
      return Promise.reject(
        new Error(this.state === 'RESTARTING' ? 'the job is restarting; try again in a moment' : 'the job is not running'),
      );
    return this.query(uid, name, key);
  }

  private checkpointEntry(id: number): CheckpointEntry | undefined {
    for (let i = this.checkpoints.length - 1; i >= 0; i--) if (this.checkpoints[i].id === id) return this.checkpoints[i];
    return undefined;
  }

  /** uid of every operator, by stream node id. */
  uidOf(nodeId: number): string {
    return displayName(this.plan.graph.nodes[nodeId]);
  }
}
