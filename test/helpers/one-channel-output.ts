/**
 * A task's output over one forward edge into one real ring, as deploy wires it: what the drain
 * tests write into. The consumer side is the caller's (a RingConsumer given `taskGate` rings
 * the producing task when it frees space).
 */
import { createRing } from '../../core/channel/ring.js';
import { createGate } from '../../core/channel/gate.js';
import type { JobEdge } from '../../core/graph/job-graph.js';
import { TaskOutput } from '../../workers/output.js';

export function oneChannelOutput(ringBytes: number, batchSize: number, operatorUid = 'test') {
  const ring = createRing(ringBytes);
  const taskGate = createGate();
  const edge: JobEdge = { id: 0, from: 0, to: 1, fromNode: 0, toNode: 1, partitioner: 'forward' };
  const output = new TaskOutput([edge], [{ edge: 0, rings: [ring], gates: [createGate()] }], {
    batchSize,
    maxParallelism: 128,
    subtask: 0,
    producerUid: () => operatorUid,
    consumerUid: () => 'consumer',
    gate: taskGate,
  });
  return { output, ring, taskGate };
}
