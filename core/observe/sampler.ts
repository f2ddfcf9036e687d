/**
 * Samples the counters the tasks keep in shared memory (metrics-layout.ts) about once a second:
 * totals per operator subtask carried across restart attempts (a restart deploys fresh
 * counters), per-second rates over the last interval, the time accounting per task (busy =
 * what is neither idle nor back-pressured, as Flink computes it), watermarks, ring fill, and
 * bytes in and out read off the rings' positions. Nothing here touches a task's thread.
 */
import { RING_CAPACITY, RING_HEADER_BYTES, RING_READ_POS, RING_WRITE_POS } from '../channel/layout.js';
import { readAccount, wallNow } from '../channel/time-account.js';
import {
  METRIC_RECORDS_IN,
  METRIC_RECORDS_OUT,
  METRIC_STATE_ENTRIES,
  METRICS_PER_SLOT,
  TASK_BACKPRESSURED_MS,
  TASK_BACKPRESSURED_SINCE,
  TASK_IDLE_MS,
  TASK_IDLE_SINCE,
  TASK_INPUT_WATERMARK,
  TASK_OUTPUT_WATERMARK,
} from './metrics-layout.js';
import type { ObservedDeployment, ObservedPlan } from './observed-job.js';

/** One operator subtask's figures (Flink's metric names). */
export interface SubtaskMetrics {
  numRecordsIn: number;
  numRecordsOut: number;
  numRecordsInPerSecond: number;
  numRecordsOutPerSecond: number;
  numBytesIn: number;
  numBytesOut: number;
  numBytesInPerSecond: number;
  numBytesOutPerSecond: number;
  busyTimeMsPerSecond: number;
  idleTimeMsPerSecond: number;
  backPressuredTimeMsPerSecond: number;
  /** Accumulated ms (Flink's REST accumulated-*-time). */
  accumulatedBusyTimeMs: number;
  accumulatedIdleTimeMs: number;
  accumulatedBackPressuredTimeMs: number;
  /** null until the task has one (-Infinity does not survive JSON). */
  currentInputWatermark: number | null;
  currentOutputWatermark: number | null;
  /** Fullest input ring and fullest output ring, 0..1 (Flink's inPoolUsage / outPoolUsage). */
  inPoolUsage: number;
  outPoolUsage: number;
  /** Keyed operators: keys with state. */
  stateEntries?: number;
}

/** Totals of one task (vertex subtask), kept across attempts. */
interface TaskTotals {
  idleMs: number;
  backPressuredMs: number;
  bytesIn: number;
  /** Per operator of the chain (index in the vertex's nodes): bytes written to its outgoing edges. */
  bytesOut: number[];
}

interface RingCursor {
  hdr: Int32Array;
  last: number;
  /** An output ring: the index in its vertex's nodes of the operator whose edge it carries. */
  node: number;
}

const ringHeader = (ring: SharedArrayBuffer) => new Int32Array(ring, 0, RING_HEADER_BYTES / 4);

/** Bytes a ring position moved since the last read (positions are u32 and wrap). */
function advance(c: RingCursor, at: number): number {
  const pos = Atomics.load(c.hdr, at) >>> 0;
  const moved = (pos - c.last) >>> 0;
  c.last = pos;
  return moved;
}

function fill(hdr: Int32Array): number {
  const used = ((Atomics.load(hdr, RING_WRITE_POS) >>> 0) - (Atomics.load(hdr, RING_READ_POS) >>> 0)) >>> 0;
  return used / hdr[RING_CAPACITY];
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

export class MetricsSampler {
  /** [node id][subtask] */
  readonly subtasks: SubtaskMetrics[][];
  private readonly base: { recordsIn: number; recordsOut: number }[][];
  private readonly tasks = new Map<string, TaskTotals>();
  private deployment: ObservedDeployment | undefined;
  private inputs: RingCursor[][] = [];
  private outputs: RingCursor[][] = [];
  private lastAt = 0;
  /** Time accounting already folded into the totals, per task, for the current deployment. */
  private seenIdle: number[] = [];
  private seenBackPressured: number[] = [];

  constructor(private readonly plan: ObservedPlan) {
    const par = plan.jobGraph.parallelism;
    this.subtasks = plan.graph.nodes.map((n) =>
      Array.from({ length: par[n.id] }, () => emptyMetrics(n.keySelector !== undefined && n.kind !== 'sink')),
    );
    this.base = plan.graph.nodes.map((n) => Array.from({ length: par[n.id] }, () => ({ recordsIn: 0, recordsOut: 0 })));
  }

  /** A new attempt: its counters start at zero, so what the last one counted becomes the base. */
  attach(d: ObservedDeployment): void {
    if (this.deployment) this.sample();
    for (const n of this.plan.graph.nodes) {
      for (let s = 0; s < this.subtasks[n.id].length; s++) {
        this.base[n.id][s].recordsIn = this.subtasks[n.id][s].numRecordsIn;
        this.base[n.id][s].recordsOut = this.subtasks[n.id][s].numRecordsOut;
      }
    }
    this.deployment = d;
    const g = this.plan.jobGraph;
    this.inputs = d.tasks.map((t) => t.spec.inputs.map((i) => ({ hdr: ringHeader(i.ring), last: 0, node: 0 })));
    this.outputs = d.tasks.map((t) => {
      const v = g.vertices[t.spec.vertex];
      // A task's outputs follow its vertex's edges, in order.
      return t.spec.outputs.flatMap((o, e) => {
        const node = v.nodes.findIndex((n) => n.id === v.outputs[e].fromNode);
        return o.rings.map((r) => ({ hdr: ringHeader(r), last: 0, node }));
      });
    });
    this.seenIdle = d.tasks.map(() => 0);
    this.seenBackPressured = d.tasks.map(() => 0);
    // The baseline: the next sample's rates are over the time from here.
    this.sample();
  }

  /** The job ended: totals stay, rates and time shares go to zero (a finished task is neither busy nor idle). */
  settle(): void {
    this.sample();
    for (const node of this.subtasks) {
      for (const m of node) {
        m.numRecordsInPerSecond = m.numRecordsOutPerSecond = m.numBytesInPerSecond = m.numBytesOutPerSecond = 0;
        m.busyTimeMsPerSecond = m.idleTimeMsPerSecond = m.backPressuredTimeMsPerSecond = 0;
        m.inPoolUsage = m.outPoolUsage = 0;
      }
    }
  }

  /** Reads every counter once; rates are over the time since the previous call. */
  sample(): void {
    const d = this.deployment;
    if (!d) return;
    const now = wallNow();
    const dt = this.lastAt === 0 ? 0 : now - this.lastAt;
    this.lastAt = now;
    const perSecond = (delta: number) => (dt > 0 ? (delta * 1000) / dt : 0);
    const m = new Float64Array(d.metrics);
    const g = this.plan.jobGraph;
    for (let k = 0; k < d.tasks.length; k++) {
      const spec = d.tasks[k].spec;
      const s = spec.subtask;
      const vertex = g.vertices[spec.vertex];
      const c = new Float64Array(spec.counters);
      const key = `${vertex.id}/${s}`;
      const totals = this.tasks.get(key) ?? { idleMs: 0, backPressuredMs: 0, bytesIn: 0, bytesOut: vertex.nodes.map(() => 0) };
      this.tasks.set(key, totals);
      const idleNow = readAccount(c, TASK_IDLE_MS, TASK_IDLE_SINCE, now);
      const bpNow = readAccount(c, TASK_BACKPRESSURED_MS, TASK_BACKPRESSURED_SINCE, now);
      // Never backwards (clocks of two threads may differ by a fraction of a ms).
      const idle = Math.max(0, idleNow - this.seenIdle[k]);
      const bp = Math.max(0, bpNow - this.seenBackPressured[k]);
      this.seenIdle[k] = Math.max(this.seenIdle[k], idleNow);
      this.seenBackPressured[k] = Math.max(this.seenBackPressured[k], bpNow);
      let bytesIn = 0;
      let inFill = 0;
      for (const r of this.inputs[k]) {
        bytesIn += advance(r, RING_READ_POS);
        inFill = Math.max(inFill, fill(r.hdr));
      }
      const bytesOut = vertex.nodes.map(() => 0);
      let outFill = 0;
      for (const r of this.outputs[k]) {
        bytesOut[r.node] += advance(r, RING_WRITE_POS);
        outFill = Math.max(outFill, fill(r.hdr));
      }
      totals.idleMs += idle;
      totals.backPressuredMs += bp;
      totals.bytesIn += bytesIn;
      for (let i = 0; i < bytesOut.length; i++) totals.bytesOut[i] += bytesOut[i];
      // Not clamped: idle + back-pressured above 1000 ms/s would show an accounting error.
      const idleRate = perSecond(idle);
      const bpRate = perSecond(bp);
      for (let i = 0; i < vertex.nodes.length; i++) {
        const node = vertex.nodes[i];
        const at = spec.metricsSlots[i] * METRICS_PER_SLOT;
        const b = this.base[node.id][s];
        const o = this.subtasks[node.id][s];
        const recordsIn = b.recordsIn + m[at + METRIC_RECORDS_IN];
        const recordsOut = b.recordsOut + m[at + METRIC_RECORDS_OUT];
        o.numRecordsInPerSecond = perSecond(Math.max(0, recordsIn - o.numRecordsIn));
        o.numRecordsOutPerSecond = perSecond(Math.max(0, recordsOut - o.numRecordsOut));
        o.numRecordsIn = Math.max(o.numRecordsIn, recordsIn);
        o.numRecordsOut = Math.max(o.numRecordsOut, recordsOut);
        // Bytes cross the rings at the chain's ends: in at the head, out at each operator with
        // outgoing edges (a chain that forks may have several).
        const head = i === 0;
        o.numBytesIn = head ? totals.bytesIn : 0;
        o.numBytesOut = totals.bytesOut[i];
        o.numBytesInPerSecond = head ? perSecond(bytesIn) : 0;
        o.numBytesOutPerSecond = perSecond(bytesOut[i]);
        // The operators of a chain share the task's thread, and so its time.
        o.idleTimeMsPerSecond = idleRate;
        o.backPressuredTimeMsPerSecond = bpRate;
        o.busyTimeMsPerSecond = dt > 0 ? Math.max(0, 1000 - idleRate - bpRate) : 0;
        o.accumulatedIdleTimeMs = totals.idleMs;
        o.accumulatedBackPressuredTimeMs = totals.backPressuredMs;
        o.accumulatedBusyTimeMs += dt > 0 ? Math.max(0, dt - idle - bp) : 0;
        o.currentInputWatermark = finite(c[TASK_INPUT_WATERMARK]);
        o.currentOutputWatermark = finite(c[TASK_OUTPUT_WATERMARK]);
        o.inPoolUsage = inFill;
        o.outPoolUsage = outFill;
        if (o.stateEntries !== undefined) o.stateEntries = m[at + METRIC_STATE_ENTRIES];
      }
    }
  }
}

function emptyMetrics(keyed: boolean): SubtaskMetrics {
  const m: SubtaskMetrics = {
    numRecordsIn: 0,
    numRecordsOut: 0,
    numRecordsInPerSecond: 0,
    numRecordsOutPerSecond: 0,
    numBytesIn: 0,
    numBytesOut: 0,
    numBytesInPerSecond: 0,
    numBytesOutPerSecond: 0,
    busyTimeMsPerSecond: 0,
    idleTimeMsPerSecond: 0,
    backPressuredTimeMsPerSecond: 0,
    accumulatedBusyTimeMs: 0,
    accumulatedIdleTimeMs: 0,
    accumulatedBackPressuredTimeMs: 0,
    currentInputWatermark: null,
    currentOutputWatermark: null,
    inPoolUsage: 0,
    outPoolUsage: 0,
  };
  if (keyed) m.stateEntries = 0;
  return m;
}
