/**
 * The REST API's answers, built from a job record (live) or read back from its archive
 * (finished): shaped after Flink's REST API so its users recognise them (`jid`, `vertices`,
 * `plan`, `exceptionHistory`, checkpoint `counts` / `history`), plus the figures the page needs.
 */
import { describeOrigin } from '../failure.js';
import { exitNodes, type JobVertex } from '../graph/job-graph.js';
import type { JobRecord, CheckpointEntry, ExceptionEntry, Series } from './job-record.js';
import type { SubtaskMetrics } from './sampler.js';

export interface OperatorView {
  uid: string;
  name: string;
  kind: string;
  keyed: boolean;
}

export interface SubtaskView {
  subtask: number;
  /** Per chained operator, head first. */
  operators: (SubtaskMetrics & { uid: string; stateBytes?: number })[];
}

/** Flink's backpressure levels: OK ≤ 10 %, LOW ≤ 50 %, HIGH above. */
export type BackPressureLevel = 'ok' | 'low' | 'high';

export interface VertexView {
  id: number;
  name: string;
  parallelism: number;
  status: string;
  operators: OperatorView[];
  metrics: {
    'read-records': number;
    'write-records': number;
    'read-bytes': number;
    'write-bytes': number;
    recordsInPerSecond: number;
    recordsOutPerSecond: number;
    /** Maximum over subtasks, 0..100 (the graph colours by these, as Flink's does). */
    busyPercent: number;
    backPressuredPercent: number;
    idlePercent: number;
    backPressureLevel: BackPressureLevel;
    /** Minimum over subtasks; null until every subtask has one. */
    inputWatermark: number | null;
    outputWatermark: number | null;
  };
}

export interface JobView {
  jid: string;
  name: string;
  state: string;
  'start-time': number;
  'end-time': number;
  duration: number;
  now: number;
  attempt: number;
  mode: string;
  checkpointIntervalMs: number;
  stateBackend: string;
  vertices: VertexView[];
  plan: {
    nodes: { id: number; description: string; parallelism: number; inputs: { id: number; ship_strategy: string; side?: string }[] }[];
  };
  metrics: JobMetrics;
}

/** Job-scope metrics with Flink's names. */
export interface JobMetrics {
  uptime: number;
  numRestarts: number;
  numberOfCompletedCheckpoints: number;
  numberOfFailedCheckpoints: number;
  totalNumberOfCheckpoints: number;
  lastCheckpointDuration: number | null;
  lastCheckpointSize: number | null;
  lastCheckpointStartDelay: number | null;
  lastCheckpointAlignmentDuration: number | null;
  lastCheckpointSyncDuration: number | null;
  lastCheckpointAsyncDuration: number | null;
}

export interface CheckpointsView {
  counts: { triggered: number; in_progress: number; completed: number; failed: number; restored: number };
  latest: { completed: CheckpointEntry | null; failed: CheckpointEntry | null };
  history: CheckpointEntry[];
}

export interface ExceptionsView {
  'root-exception': string | null;
  timestamp: number | null;
  /** Each entry as in JobResult.exceptions, with its record's origin in words (the CLI's wording) when known. */
  exceptionHistory: { entries: (ExceptionEntry & { originText?: string })[] };
}

export interface JobViews {
  jid: string;
  overview: { 'jobs-running': number; 'jobs-finished': number; 'jobs-failed': number; 'jobs-cancelled': number; 'eddy-version': string };
  jobsOverview: { jobs: { jid: string; name: string; state: string; 'start-time': number; 'end-time': number; duration: number }[] };
  job: JobView;
  vertices: Record<string, VertexView & { subtasks: SubtaskView[] }>;
  checkpoints: CheckpointsView;
  exceptions: ExceptionsView;
  series: Series & { vertices: string[] };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const max = (xs: number[]) => xs.reduce((a, b) => Math.max(a, b), 0);
function minWatermark(xs: (number | null)[]): number | null {
  if (xs.length === 0 || xs.some((x) => x === null)) return null;
  return Math.min(...(xs as number[]));
}

export function buildJobViews(r: JobRecord): JobViews {
  const g = r.plan.jobGraph;
  const now = Date.now();
  const end = r.endTime ?? -1;
  const duration = (r.endTime ?? now) - r.startTime;
  const vertexViews = g.vertices.map((v) => vertexView(r, v));
  const state = r.state;
  return {
    jid: r.id,
    overview: {
      'jobs-running': state === 'RUNNING' || state === 'RESTARTING' ? 1 : 0,
      'jobs-finished': state === 'FINISHED' ? 1 : 0,
      'jobs-failed': state === 'FAILED' ? 1 : 0,
      'jobs-cancelled': state === 'CANCELED' ? 1 : 0,
      'eddy-version': '0.1.0',
    },
    jobsOverview: { jobs: [{ jid: r.id, name: r.name, state, 'start-time': r.startTime, 'end-time': end, duration }] },
    job: jobView(r, vertexViews, now, duration),
    vertices: Object.fromEntries(vertexViews.map((v) => [String(v.id), v])),
    checkpoints: checkpointsView(r),
    exceptions: exceptionsView(r),
    series: { ...r.series, vertices: g.vertices.map((v) => v.name) },
  };
}

/** One vertex (chain of operators): its figures summed over subtasks, and each subtask's operators. */
function vertexView(r: JobRecord, v: JobVertex): VertexView & { subtasks: SubtaskView[] } {
  const head = v.nodes[0];
  const headM = r.sampler.subtasks[head.id];
  // Every subtask of every operator whose records leave the vertex (several where its chain forks).
  const tailM = exitNodes(v).flatMap((n) => r.sampler.subtasks[n.id]);
  const busy = max(headM.map((m) => m.busyTimeMsPerSecond)) / 10;
  const bp = max(headM.map((m) => m.backPressuredTimeMsPerSecond)) / 10;
  const subtasks: SubtaskView[] = headM.map((_, st) => ({
    subtask: st,
    operators: v.nodes.map((n) => {
      const uid = r.uidOf(n.id);
      const m = r.sampler.subtasks[n.id][st];
      const bytes = r.stateBytes.get(`${uid}/${st}`);
      return bytes === undefined ? { uid, ...m } : { uid, ...m, stateBytes: bytes };
    }),
  }));
  return {
    id: v.id,
    name: v.name,
    parallelism: v.parallelism,
    status: r.state,
    operators: v.nodes.map((n) => ({
      uid: r.uidOf(n.id),
      name: n.name,
      kind: n.kind,
      keyed: n.keySelector !== undefined && n.kind !== 'sink',
    })),
    metrics: {
      'read-records': sum(headM.map((m) => m.numRecordsIn)),
      'write-records': sum(tailM.map((m) => m.numRecordsOut)),
      'read-bytes': sum(headM.map((m) => m.numBytesIn)),
      'write-bytes': sum(tailM.map((m) => m.numBytesOut)),
      recordsInPerSecond: sum(headM.map((m) => m.numRecordsInPerSecond)),
      recordsOutPerSecond: sum(tailM.map((m) => m.numRecordsOutPerSecond)),
      busyPercent: busy,
      backPressuredPercent: bp,
      idlePercent: max(headM.map((m) => m.idleTimeMsPerSecond)) / 10,
      backPressureLevel: levelOf(bp / 100),
      inputWatermark: minWatermark(headM.map((m) => m.currentInputWatermark)),
      outputWatermark: minWatermark(tailM.map((m) => m.currentOutputWatermark)),
    },
    subtasks,
  };
}

/** Flink's `/jobs/:jid`: the job, its vertices without their subtasks, the plan and the job-scope metrics. */
function jobView(r: JobRecord, vertexViews: (VertexView & { subtasks: SubtaskView[] })[], now: number, duration: number): JobView {
  const g = r.plan.jobGraph;
  const s = r.plan.settings;
  const completed = r.checkpoints.filter((c) => c.status === 'COMPLETED');
  const last = completed[completed.length - 1];
  const metrics: JobMetrics = {
    uptime: r.state === 'RUNNING' ? duration : 0,
    numRestarts: r.restarts,
    numberOfCompletedCheckpoints: r.counts.completed,
    numberOfFailedCheckpoints: r.counts.failed,
    totalNumberOfCheckpoints: r.counts.triggered,
    lastCheckpointDuration: last?.durationMs ?? null,
    lastCheckpointSize: last?.bytes ?? null,
    lastCheckpointStartDelay: last?.phases?.startDelayMs ?? null,
    lastCheckpointAlignmentDuration: last?.phases?.alignmentMs ?? null,
    lastCheckpointSyncDuration: last?.phases?.syncMs ?? null,
    lastCheckpointAsyncDuration: last?.phases?.asyncMs ?? null,
  };
  return {
    jid: r.id,
    name: r.name,
    state: r.state,
    'start-time': r.startTime,
    'end-time': r.endTime ?? -1,
    duration,
    now,
    attempt: r.attempt,
    mode: s.mode,
    checkpointIntervalMs: s.checkpointIntervalMs,
    stateBackend: s.stateBackend,
    vertices: vertexViews.map(({ subtasks: _subtasks, ...v }) => v),
    plan: {
      nodes: g.vertices.map((v) => ({
        id: v.id,
        description: v.name,
        parallelism: v.parallelism,
        inputs: v.inputs.map((e) => ({
          id: e.from,
          ship_strategy: e.partitioner,
          ...(e.sideTag !== undefined ? { side: e.sideTag } : {}),
        })),
      })),
    },
    metrics,
  };
}

/** Flink's `/jobs/:jid/checkpoints`: counts, the latest completed and failed, the history newest first. */
function checkpointsView(r: JobRecord): CheckpointsView {
  const completed = r.checkpoints.filter((c) => c.status === 'COMPLETED');
  const failedList = r.checkpoints.filter((c) => c.status === 'FAILED');
  return {
    counts: {
      triggered: r.counts.triggered,
      in_progress: r.checkpoints.filter((c) => c.status === 'IN_PROGRESS').length,
      completed: r.counts.completed,
      failed: r.counts.failed,
      restored: r.restarts,
    },
    latest: { completed: completed[completed.length - 1] ?? null, failed: failedList[failedList.length - 1] ?? null },
    history: [...r.checkpoints].reverse(),
  };
}

/** Flink's `/jobs/:jid/exceptions`: the latest as the root exception, the history newest first. */
function exceptionsView(r: JobRecord): ExceptionsView {
  const latestException = r.exceptions[r.exceptions.length - 1];
  return {
    'root-exception': latestException ? latestException.message : null,
    timestamp: latestException?.timestamp ?? null,
    exceptionHistory: {
      entries: [...r.exceptions].reverse().map((e) => (e.origin !== undefined ? { ...e, originText: describeOrigin(e.origin) } : e)),
    },
  };
}

/** Flink's `/vertices/:vid/watermarks`: `{id: "<subtask>.currentInputWatermark", value}` per subtask. */
export function vertexWatermarks(v: VertexView & { subtasks: SubtaskView[] }): { id: string; value: string }[] {
  return v.subtasks.flatMap((st) => {
    const head = st.operators[0];
    const tail = st.operators[st.operators.length - 1];
    const shown = (w: number | null) => String(w ?? Number.MIN_SAFE_INTEGER);
    return [
      { id: `${st.subtask}.currentInputWatermark`, value: shown(head.currentInputWatermark) },
      { id: `${st.subtask}.currentOutputWatermark`, value: shown(tail.currentOutputWatermark) },
    ];
  });
}

const levelOf = (ratio: number): BackPressureLevel => (ratio <= 0.1 ? 'ok' : ratio <= 0.5 ? 'low' : 'high');

/** Flink's `/vertices/:vid/backpressure`: the level and the busy / idle / back-pressured ratios per subtask. */
export function vertexBackPressure(v: VertexView & { subtasks: SubtaskView[] }) {
  const subtasks = v.subtasks.map((st) => {
    const m = st.operators[0];
    const ratio = m.backPressuredTimeMsPerSecond / 1000;
    return {
      subtask: st.subtask,
      backpressureLevel: levelOf(ratio),
      ratio,
      idleRatio: m.idleTimeMsPerSecond / 1000,
      busyRatio: m.busyTimeMsPerSecond / 1000,
    };
  });
  return { status: 'ok', backpressureLevel: v.metrics.backPressureLevel, 'end-timestamp': Date.now(), subtasks };
}
