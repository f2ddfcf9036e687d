/**
 * One attempt of a job: every task of the deployment runs in the slot pool, reports come back
 * over a MessagePort per task, and the first failure (a task's, a dead worker's, the
 * coordinator's) cancels every task. Cancellation raises the control flag, poisons the rings
 * and rings the gates; tasks that do not leave their loops in time lose their threads.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { CheckpointCoordinator, CheckpointStats } from '../checkpoint/coordinator.js';
import type { CheckpointDeclineCode } from '../checkpoint/decline.js';
import { ringGate, poisonRing } from '../channel/ring.js';
import type { Failure } from '../failure.js';
import type { JobEvents } from '../observe/job-events.js';
import { createCheckpointCoordinator, forwardDurable } from './checkpoint-host.js';
import type { CollectedRecords } from './collected-records.js';
import type { Deployment } from './deployment.js';
import type { JobPlan } from './job-plan.js';
import type { PortCommand, RestoreSpec, TaskOutcome, TaskReport, TaskSpec } from './messages.js';
import type { SlotPool } from './pool.js';
import { StateQueries } from './state-queries.js';
import { CONTROL_CANCEL } from './control-block.js';
import { messageOf } from '../failure.js';

/** How long cancelled tasks get to leave their loops before their threads are terminated. */
const CANCEL_GRACE_MS = 5_000;

export interface AttemptOptions {
  plan: JobPlan;
  deployment: Deployment;
  pool: SlotPool;
  attempt: number;
  collector: CollectedRecords;
  signal: AbortSignal | undefined;
  checkpointDir: string | undefined;
  restore: RestoreSpec | undefined;
  retained: number;
  localDir: string | undefined;
  warn: (message: string) => void;
  events: JobEvents | undefined;
  /** The attempt's coordinator while it runs (savepoints go through it), then undefined. */
  onCoordinator(c: CheckpointCoordinator | undefined): void;
}

export interface AttemptEnd {
  failure?: Failure;
  cancelled: boolean;
  checkpointsCompleted: number;
  checkpointsFailed: number;
  checkpointsFailedByReason: Partial<Record<CheckpointDeclineCode, number>>;
  checkpoints: CheckpointStats[];
}

export class Attempt {
  private readonly control: Int32Array;
  private readonly killers: AbortController[];
  /** Each task's gate (deployment order), rung with every command. */
  private readonly taskGates: Int32Array[];
  private readonly ports: MessagePort[] = [];
  private readonly sourceTasks: number[];
  private sourcesEnded = 0;
  private coordinator: CheckpointCoordinator | undefined;
  private firstFailure: Failure | undefined;
  private cancelledByUser = false;
  private readonly queries: StateQueries;

  constructor(private readonly o: AttemptOptions) {
    const d = o.deployment;
    this.control = new Int32Array(d.control);
    this.killers = d.tasks.map(() => new AbortController());
    this.taskGates = d.tasks.map((t) => new Int32Array(t.spec.gate));
    this.sourceTasks = d.tasks
      .map((t, k) => (o.plan.jobGraph.vertices[t.spec.vertex].nodes[0].kind === 'source' ? k : -1))
      .filter((k) => k >= 0);
    this.queries = new StateQueries(o.plan, d, (k, cmd) => this.command(k, cmd));
  }

  private get cancelling(): boolean {
    return Atomics.load(this.control, CONTROL_CANCEL) !== 0;
  }

  private command(k: number, cmd: PortCommand): void {
    this.ports[k].postMessage(cmd);
    // The task takes commands off its port itself (takeCommands): ringing its gate here wakes
    // one waiting for output space or input at once, instead of after its event loop has
    // dispatched the message (a checkpoint trigger's start delay at a backpressured source).
    ringGate(this.taskGates[k]);
  }

  private cancelAll(): void {
    if (this.cancelling) return;
    this.coordinator?.stop();
    Atomics.store(this.control, CONTROL_CANCEL, 1);
    const d = this.o.deployment;
    for (const r of d.rings) poisonRing(r.ring, r.gate);
    for (const g of d.gates) ringGate(new Int32Array(g));
    // Tasks that do not leave their loops in time (a user function stuck in a loop) lose
    // their threads.
    setTimeout(() => this.killers.forEach((k) => k.abort()), CANCEL_GRACE_MS).unref();
  }

  private fail(f: Failure): void {
    this.firstFailure ??= f;
    this.cancelAll();
  }

  private readonly onAbort = () => {
    this.cancelledByUser = true;
    this.cancelAll();
  };

  async run(): Promise<AttemptEnd> {
    const { plan, deployment: d, signal, checkpointDir, events } = this.o;
    if (signal?.aborted) this.onAbort();
    signal?.addEventListener('abort', this.onAbort, { once: true });
    if (checkpointDir) {
      this.coordinator = await createCheckpointCoordinator({
        plan,
        checkpointDir,
        taskCount: d.tasks.length,
        sourceTasks: this.sourceTasks,
        sourceGates: this.sourceTasks.map((k) => d.tasks[k].spec.gate),
        restore: this.o.restore,
        retained: this.o.retained,
        command: (k, cmd) => this.command(k, cmd),
        cancelling: () => this.cancelling,
        warn: this.o.warn,
        fail: (f) => this.fail(f),
        events,
      });
    }
    const runs = d.tasks.map((_, k) => this.runTask(k));
    this.coordinator?.start();
    this.o.onCoordinator(this.coordinator);
    events?.attemptStarted(this.o.attempt, d, (uid, name, key) => this.queries.ask(uid, name, key));
    await Promise.all(runs);
    events?.attemptEnded(this.o.attempt);
    this.queries.endAll();
    this.o.onCoordinator(undefined);
    this.coordinator?.stop();
    await this.coordinator?.settled();
    signal?.removeEventListener('abort', this.onAbort);
    const c = this.coordinator;
    const end: AttemptEnd = {
      cancelled: this.cancelledByUser,
      checkpointsCompleted: c?.completed ?? 0,
      checkpointsFailed: c?.failed ?? 0,
      checkpointsFailedByReason: c?.failedByReason ?? {},
      checkpoints: c?.stats ?? [],
    };
    if (this.firstFailure) end.failure = this.firstFailure;
    return end;
  }

  private runTask(k: number): Promise<TaskOutcome> {
    const t = this.o.deployment.tasks[k];
    const { port1, port2 } = new MessageChannel();
    this.ports.push(port1);
    const done = new Promise<void>((resolveDone) => port1.on('message', (m: TaskReport) => this.onReport(k, m, resolveDone)));
    const spec: TaskSpec = {
      ...t.spec,
      attempt: this.o.attempt,
      port: port2,
      checkpointDir: this.o.checkpointDir,
      restore: this.o.restore,
      localDir: this.o.localDir,
    };
    const killer = this.killers[k];
    const outcome: Promise<TaskOutcome> = this.o.pool.run(spec, killer.signal).then(
      async (o) => {
        await done;
        return o;
      },
      (err): TaskOutcome => {
        // The worker itself died (process.exit, a native crash) or was terminated by us.
        if (this.cancelling && killer.signal.aborted) return { status: 'cancelled' };
        const cause = messageOf(err);
        return {
          status: 'failed',
          failure: {
            code: 'WORKER_EXITED',
            message: `the worker running '${t.name}' died: ${cause}`,
            operatorUid: this.o.plan.jobGraph.vertices[t.spec.vertex].name,
            subtask: t.spec.subtask,
            cause,
          },
        };
      },
    );
    return outcome.then((o) => {
      port1.close();
      if (o.status === 'failed') this.fail(o.failure);
      return o;
    });
  }

  private onReport(k: number, m: TaskReport, done: () => void): void {
    switch (m.type) {
      case 'done':
        done();
        break;
      case 'collected':
        this.o.collector.add(m.operatorUid, m.chunk);
        break;
      case 'duplicates-dropped':
        this.o.collector.duplicatesDropped[m.operatorUid] = (this.o.collector.duplicatesDropped[m.operatorUid] ?? 0) + m.duplicates;
        break;
      case 'parse-counts':
        this.o.collector.parseCounts.add(m.operatorUid, m.counts);
        break;
      case 'restored':
        this.o.collector.restores.push({ uid: m.operatorUid, subtask: m.subtask, local: m.local, filesRead: m.filesRead });
        break;
      case 'state-value':
        this.queries.answered(m);
        break;
      case 'ack':
        this.o.events?.taskAcknowledged(m.id, k, m.phases, m.acks);
        this.coordinator?.onAck(k, m.id, m.acks, m.phases, m.channels);
        if (m.durable) forwardDurable(this.coordinator, m.id, m.durable);
        break;
      case 'decline':
        this.coordinator?.onDecline(m);
        break;
      case 'source-ended':
        if (++this.sourcesEnded === this.sourceTasks.length) this.coordinator?.requestFinal();
        break;
    }
  }
}
