/**
 * `/metrics` in Prometheus' text format (prom-client): Flink's metric names with an `eddy_`
 * prefix, per operator subtask (labels job, operator = uid or generated name, subtask) and per
 * job (label job). Like Flink's Prometheus reporter, counters are exported as gauges: they are
 * sampled totals, not incremented here.
 */
import { Gauge, Registry } from 'prom-client';
import type { JobRecord } from './job-record.js';
import type { SubtaskMetrics } from './sampler.js';
import { buildJobViews, type JobMetrics } from './views.js';

const OPERATOR_METRICS: (keyof SubtaskMetrics)[] = [
  'numRecordsIn',
  'numRecordsOut',
  'numRecordsInPerSecond',
  'numRecordsOutPerSecond',
  'numBytesIn',
  'numBytesOut',
  'numBytesInPerSecond',
  'numBytesOutPerSecond',
  'busyTimeMsPerSecond',
  'idleTimeMsPerSecond',
  'backPressuredTimeMsPerSecond',
  'currentInputWatermark',
  'currentOutputWatermark',
  'inPoolUsage',
  'outPoolUsage',
];

const JOB_METRICS: (keyof JobMetrics)[] = [
  'uptime',
  'numRestarts',
  'numberOfCompletedCheckpoints',
  'numberOfFailedCheckpoints',
  'totalNumberOfCheckpoints',
  'lastCheckpointDuration',
  'lastCheckpointSize',
  'lastCheckpointStartDelay',
  'lastCheckpointAlignmentDuration',
  'lastCheckpointSyncDuration',
  'lastCheckpointAsyncDuration',
];

/** One scrape asks for every job gauge in turn: the job's figures are worked out once per scrape. */
const JOB_METRICS_TTL_MS = 100;

export function createRegistry(record: JobRecord): Registry {
  const registry = new Registry();
  let jobMetrics: { at: number; metrics: JobMetrics } | undefined;
  const currentJobMetrics = (): JobMetrics => {
    const now = Date.now();
    if (jobMetrics === undefined || now - jobMetrics.at > JOB_METRICS_TTL_MS)
      jobMetrics = { at: now, metrics: buildJobViews(record).job.metrics };
    return jobMetrics.metrics;
  };
  const labels = ['job', 'operator', 'subtask'] as const;
  const eachSubtask = (fn: (uid: string, subtask: number, m: SubtaskMetrics) => void) => {
    for (const n of record.plan.graph.nodes) {
      const uid = record.uidOf(n.id);
      record.sampler.subtasks[n.id].forEach((m, s) => fn(uid, s, m));
    }
  };
  for (const name of OPERATOR_METRICS) {
    new Gauge({
      name: `eddy_operator_${name}`,
      help: `Flink's ${name}, per operator subtask`,
      labelNames: labels,
      registers: [registry],
      collect() {
        this.reset();
        eachSubtask((operator, subtask, m) => {
          // A watermark not there yet is -Inf, as Flink reports Long.MIN_VALUE.
          const v = m[name] ?? -Infinity;
          if (typeof v === 'number') this.set({ job: record.name, operator, subtask: String(subtask) }, v);
        });
      },
    });
  }
  new Gauge({
    name: 'eddy_operator_stateEntries',
    help: 'keys with keyed state, per keyed operator subtask',
    labelNames: labels,
    registers: [registry],
    collect() {
      this.reset();
      eachSubtask((operator, subtask, m) => {
        if (m.stateEntries !== undefined) this.set({ job: record.name, operator, subtask: String(subtask) }, m.stateEntries);
      });
    },
  });
  new Gauge({
    name: 'eddy_operator_stateBytes',
    help: 'bytes of keyed state in the last completed checkpoint, per keyed operator subtask',
    labelNames: labels,
    registers: [registry],
    collect() {
      this.reset();
      for (const [key, bytes] of record.stateBytes) {
        const at = key.lastIndexOf('/');
        this.set({ job: record.name, operator: key.slice(0, at), subtask: key.slice(at + 1) }, bytes);
      }
    },
  });
  for (const name of JOB_METRICS) {
    new Gauge({
      name: `eddy_job_${name}`,
      help: `Flink's ${name}, per job`,
      labelNames: ['job'],
      registers: [registry],
      collect() {
        this.reset();
        const v = currentJobMetrics()[name];
        if (v !== null) this.set({ job: record.name }, v);
      },
    });
  }
  return registry;
}
