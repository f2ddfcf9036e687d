/**
 * Lays out a planned job on shared memory: one gate per task, one ring per (edge, producer
 * subtask, consumer subtask) pair, the control and metrics blocks, and a TaskSpec per task.
 * The same deployment serves every restart attempt (rings are reset, not reallocated).
 */
import { createGate } from '../channel/gate.js';
import { createRing } from '../channel/ring.js';
import { startingSoftCapacity } from '../channel/debloat.js';
import { consumersOf, producersOf } from '../graph/job-graph.js';
import type { JobPlan } from './job-plan.js';
import type { TaskSpec } from './messages.js';
import { createTaskCounters, metricsBytes, metricsSlotBases } from '../observe/metrics-layout.js';
import { CONTROL_INT32S } from './control-block.js';
import { jobModuleFor } from './module-loader.js';

export interface DeployedTask {
  spec: Omit<TaskSpec, 'port' | 'attempt'>;
  name: string;
}

export interface Deployment {
  tasks: DeployedTask[];
  rings: { ring: SharedArrayBuffer; gate: SharedArrayBuffer }[];
  gates: SharedArrayBuffer[];
  control: SharedArrayBuffer;
  metrics: SharedArrayBuffer;
  slotBases: number[];
}

export function deploy(plan: JobPlan, jobPath: string, args: Record<string, string>): Deployment {
  const g = plan.jobGraph;
  const control = new SharedArrayBuffer(CONTROL_INT32S * 4);
  const metrics = new SharedArrayBuffer(Math.max(8, metricsBytes(g.parallelism)));
  const slotBases = metricsSlotBases(g.parallelism);
  const gateOf = g.vertices.map((v) => Array.from({ length: v.parallelism }, () => createGate()));
  // ringOf[edge][producer][consumer]
  const ringOf = new Map<string, SharedArrayBuffer>();
  const rings: Deployment['rings'] = [];
  const soft = startingSoftCapacity(plan.settings.bufferDebloatTargetMs, plan.settings.ringCapacity);
  for (const e of g.edges) {
    for (let i = 0; i < g.vertices[e.from].parallelism; i++) {
      for (const j of consumersOf(g, e, i)) {
        const ring = createRing(plan.settings.ringCapacity, soft);
        ringOf.set(`${e.id}/${i}/${j}`, ring);
        rings.push({ ring, gate: gateOf[e.to][j] });
      }
    }
  }
  const tasks: DeployedTask[] = [];
  for (const v of g.vertices) {
    for (let s = 0; s < v.parallelism; s++) {
      tasks.push({
        name: `${v.name} (${s + 1}/${v.parallelism})`,
        spec: {
          jobPath,
          jobModule: jobModuleFor(jobPath),
          args,
          settings: plan.settings,
          fingerprint: plan.fingerprint,
          buildNotes: plan.notes,
          vertex: v.id,
          subtask: s,
          gate: gateOf[v.id][s],
          control,
          metrics,
          metricsSlots: v.nodes.map((n) => slotBases[n.id] + s),
          counters: createTaskCounters(),
          inputs: v.inputs.flatMap((e) =>
            producersOf(g, e, s).map((i) => ({
              edge: e.id,
              producerSubtask: i,
              ring: ringOf.get(`${e.id}/${i}/${s}`)!,
              producerGate: gateOf[e.from][i],
            })),
          ),
          outputs: v.outputs.map((e) => {
            const consumers = consumersOf(g, e, s);
            return {
              edge: e.id,
              rings: consumers.map((j) => ringOf.get(`${e.id}/${s}/${j}`)!),
              gates: consumers.map((j) => gateOf[e.to][j]),
            };
          }),
        },
      });
    }
  }
  return { tasks, rings, gates: gateOf.flat(), control, metrics, slotBases };
}
