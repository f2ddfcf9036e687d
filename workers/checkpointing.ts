/**
 * A task's part in checkpoints: take the snapshot at the barrier (synchronously, so it is
 * exactly the state after the records before the barrier), write it out off the record loop,
 * acknowledge only once every file is durable, commit sink transactions on notify-complete,
 * and restore all of it after a failure.
 *
 * Reserved operator state (union lists, so any subtask can pick up any entry on rescale):
 *   SOURCE_STATE  the reader's position: { subtask, parallelism, state }
 *   SINK_STATE    sealed sink transactions not yet committed: { id, subtask, handles }
 */
import { CheckpointStorage, type HandedOff, type StateFileWrite } from '../core/checkpoint/storage.js';
import { TaskFile, taskFileName } from '../core/checkpoint/task-file.js';
import { wallNow } from '../core/channel/time-account.js';
import type { CheckpointPhases, SnapshotKind, SubtaskAck } from '../core/checkpoint/coordinator.js';
import type { TaskTailLeg } from '../core/checkpoint/checkpoint-stats.js';
import type { CheckpointDeclineCode } from '../core/checkpoint/decline.js';
import type {
  ChannelEdgeInfo,
  ChannelStateHandle,
  KeyedStateHandle,
  OperatorStateHandles,
  StateFileHandle,
} from '../core/checkpoint/metadata.js';
import { channelStateBytes, encodeChannelStateParts, type ChannelFrames, type TaskChannelState } from '../core/checkpoint/channel-state.js';
import { FRAME_RECORDS } from '../core/channel/layout.js';
import { restoreInFlight } from './in-flight-restore.js';
import { describeEdge } from '../core/runtime/in-flight-rescale.js';
import { InFlightAborted, type InFlightCapture } from './in-flight.js';
import type { ValveState } from '../core/time/watermark-valve.js';
import { EddyError, messageOf } from '../core/failure.js';
import { operatorFailure } from '../core/operators/failures.js';
import type { RestoreSpec, TaskReport } from '../core/runtime/messages.js';
import type { ChangeLog } from '../core/state/change-log.js';
import type { SnapshotJob } from '../core/state/keyed-backend.js';
import { restoreKeyedChains, restoreOperatorState, snapshotOperatorState, type KeyedSnapshotPart } from '../core/state/snapshot.js';
import { send } from './control-port.js';
import { gcPauseWithin } from '../core/checkpoint/gc-pauses.js';
import { fileSafe, type NodeRuntime } from './node-runtime.js';
import type { StreamTask } from './task.js';

const SOURCE_STATE = '__eddy.source';
/** The keyed snapshot of a fully finished operator: empty, full (see capture). */
const EMPTY_SNAPSHOT: SnapshotJob = {
  run: () => Promise.resolve({ data: new Uint8Array(0), keyGroups: { start: 0, end: -1 }, index: [] }),
};
const SINK_STATE = '__eddy.sink';
/** An incremental chain longer than this is compacted: the next checkpoint is a full one. */
export const MAX_DELTAS = 8;

interface SealedTransaction {
  id: number;
  subtask: number;
  handles: unknown;
}

interface KeyedCapture {
  job: SnapshotJob;
  /** The confirmed chain this snapshot is a delta of; undefined: a full snapshot. */
  base: KeyedStateHandle | undefined;
}

interface Captured {
  id: number;
  /** A savepoint is always a full snapshot in the canonical format. */
  kind: SnapshotKind;
  keyed: Map<NodeRuntime, KeyedCapture>;
  operator: Map<NodeRuntime, Uint8Array>;
  /** Sinks: the transaction sealed at this barrier (prepareCommit may finish asynchronously). */
  sealing: Map<NodeRuntime, Promise<unknown>>;
  /** Unaligned: the in-flight data, complete once every input's barrier is located. */
  inFlight?: InFlightCapture;
  /** The coordinator's trigger time (wall clock), from which the tail's legs are measured. */
  triggeredAt: number;
  /** Where the asynchronous part went, and when each leg of it ended (see CheckpointPhases). */
  phases: Pick<CheckpointPhases, 'channelWaitMs' | 'encodeMs' | 'writeMs' | 'writeIoMs' | 'files' | TaskTailLeg>;
  /** Files handed to the writer thread: the ack goes before they are durable, with their notice ports. */
  handedOff: HandedOff[];
  /** Every piece of state this task writes for the checkpoint, one file (see task-file.ts). */
  file: TaskFile;
  /** Keyed snapshots' releases (an LMDB read transaction, a pooled buffer): run once the file is written or given up. */
  releases: (() => void)[];
}

/** Runs the keyed snapshots' releases once: their bytes are written, or will not be. */
function releaseSnapshots(c: Captured): void {
  for (const r of c.releases.splice(0)) r();
}

/** Moves leg `k` of `c` to `wallAt` (ms after the trigger) if that is later: each leg is when the last of its steps ended. */
function reached(c: Captured, k: TaskTailLeg, wallAt = wallNow()): void {
  c.phases[k] = Math.max(c.phases[k] ?? 0, wallAt - c.triggeredAt);
}

export class TaskCheckpointer {
  /** Undefined when the run restores (from a savepoint) but does not checkpoint. */
  private readonly storage: CheckpointStorage | undefined;
  /** Per sink node: sealed, uncommitted transactions, oldest first. */
  private readonly sealed = new Map<NodeRuntime, SealedTransaction[]>();
  /** Snapshots being written; a failure there declines the checkpoint. */
  private inFlight = new Set<Promise<void>>();
  /**
   * Writes handed to the writer thread and not yet replied to. A later ack waits for them: a
   * keyed handle of theirs may be the base of its delta, and must carry its checksum by then.
   */
  private readonly unwritten = new Set<Promise<unknown>>();
  /**
   * Steps of those writes that progress only when this thread's event loop comes round (a
   * sink's pre-commit, a keyed snapshot's capture, a file written through async fs calls). The
   * others wait on helper threads, whose replies the loop takes by polling (pollHelperReplies).
   */
  private onLoop = 0;
  /**
   * A step of a write settled or began since the loop last yielded: what follows it runs as
   * microtasks, and a busy loop's own awaits run only one of them each (each behind a whole
   * frame), where one yield runs them all, up to the next real wait.
   */
  private moved = false;
  /** Per keyed node: the keyed handle of the last completed checkpoint (the base of deltas). */
  private readonly confirmed = new Map<NodeRuntime, KeyedStateHandle | undefined>();
  /** Per keyed node and checkpoint written but not yet known complete: its keyed handle. */
  private readonly written = new Map<NodeRuntime, Map<number, KeyedStateHandle | undefined>>();
  private readonly changeLogs = new Map<NodeRuntime, ChangeLog>();
  finalNotified = false;

  /** A snapshot is being written off the record loop. */
  get writing(): boolean {
    return this.inFlight.size > 0;
  }

  /** A snapshot being written needs turns of this thread's event loop to progress. */
  get needsEventLoop(): boolean {
    return this.onLoop > 0;
  }

  /** A step of a write settled or began (a helper's reply, a barrier located): the loop should yield once. */
  noteProgress(): void {
    this.moved = true;
  }

  /** A step moved and the loop has not yielded since (see `moved`). */
  get progressPending(): boolean {
    return this.moved;
  }

  /** Whether a step moved since the last call (see `moved`). */
  takeProgress(): boolean {
    const m = this.moved;
    this.moved = false;
    return m;
  }

  /** Counts `step` as waiting for the event loop until it settles. */
  private async loopBound<T>(step: Promise<T>): Promise<T> {
    this.onLoop++;
    try {
      return await step;
    } finally {
      this.onLoop--;
      this.moved = true;
    }
  }

  constructor(private readonly task: StreamTask) {
    // Unaligned checkpoints write the in-flight data while the task is backpressured: their
    // files go through a writer thread, so no step of a write waits for this busy loop.
    const dir = task.spec.checkpointDir;
    this.storage = dir !== undefined ? new CheckpointStorage(dir, { writerThread: task.spec.settings.unaligned }) : undefined;
    for (const n of task.nodes) if (n.writer) this.sealed.set(n, []);
    // Changes must be recorded from the first record on for the first delta to be complete.
    if (task.spec.settings.incremental) for (const n of task.nodes) if (n.keyed) this.changeLogs.set(n, n.keyed.trackChanges());
  }

  /**
   * At deployment, before the first record: what the first checkpoint would otherwise pay
   * once (the writer thread's start and first write), so it is paid here.
   */
  async prepare(): Promise<void> {
    try {
      await this.storage?.ready();
    } catch {
      // A writer thread that cannot write fails the checkpoint's own write, which says so there.
    }
  }

  /**
   * The synchronous part, at the barrier: capture every operator's state now. Must run before
   * any record after the barrier reaches the chain.
   *
   * `finished`: the final checkpoint of a bounded job. Every operator has processed all its
   * input and its end of input (windows fired on the last watermark, buffers flushed), so its
   * keyed state can produce no more output: it is not captured and goes as an empty full
   * snapshot (no keyed file, so no chain points at it), as Flink's fully finished operators
   * (FLIP-147). Operator state stays: source positions at their end, and the sinks'
   * transactions that a resume must re-commit.
   */
  capture(id: number, kind: SnapshotKind, triggeredAt: number, finished = false): Captured {
    const v = this.task.vertex;
    const file = new TaskFile(id, taskFileName(v.id, fileSafe(v.name), this.task.spec.subtask));
    const c: Captured = {
      id,
      kind,
      keyed: new Map(),
      operator: new Map(),
      sealing: new Map(),
      triggeredAt,
      phases: {},
      handedOff: [],
      file,
      releases: [],
    };
    for (const n of this.task.nodes) {
      if (n.node.uid === undefined) continue;
      if (n.reader) {
        const list = n.operatorState.list<unknown>(SOURCE_STATE, 'union');
        list.update([{ subtask: this.task.spec.subtask, parallelism: this.task.vertex.parallelism, state: n.reader.snapshotState?.(id) }]);
      }
      // Empty state writes no file: each file costs an fsync, and most operators hold none.
      if (n.keyed && finished) c.keyed.set(n, { job: EMPTY_SNAPSHOT, base: undefined });
      else if (n.keyed) {
        const log = this.changeLogs.get(n);
        const changed = log?.cut(id);
        const base = this.confirmed.get(n);
        // A delta needs a confirmed base and a change log that kept up (undefined: too much
        // changed), and a chain past its bound is compacted into a new base.
        // A savepoint is self-contained: always full, never a delta of a checkpoint's files.
        const delta =
          kind === 'checkpoint' && changed !== undefined && base !== undefined && (base.deltas?.length ?? 0) < MAX_DELTAS
            ? changed
            : undefined;
        c.keyed.set(n, { job: n.keyed.snapshot(id, delta), base: delta ? base : undefined });
      }
      if (n.writer?.prepareCommit) {
        // Called now so the transaction ends exactly at the barrier; the writer may finish
        // making it durable later. The sink's operator state is written once it has.
        let sealing: Promise<unknown>;
        try {
          sealing = Promise.resolve(n.writer.prepareCommit(id));
        } catch (err) {
          throw operatorFailure(err, 'SINK_FAILED', `pre-commit of checkpoint ${id} failed`, n.uid, this.task.spec.subtask);
        }
        c.sealing.set(n, sealing);
      } else if (n.operatorState.lists.size > 0 || n.operatorState.broadcasts.size > 0) {
        c.operator.set(n, snapshotOperatorState(n.operatorState));
      }
    }
    return c;
  }

  /**
   * The asynchronous part: seal sinks, write files, fsync, then acknowledge. `startWindow`:
   * trigger to this task's start (wall clock), where a traced run looks for GC pauses once
   * their entries have come in (by the ack).
   */
  persist(c: Captured, phases: Omit<CheckpointPhases, 'asyncMs'>, startWindow?: { from: number; to: number }): void {
    const start = performance.now();
    reached(c, 'capturedAtMs');
    const earlier = [...this.unwritten];
    const p = Promise.all([this.write(c), this.writeInFlight(c)])
      .then(async ([acks, channels]) => {
        // Every piece is in: the task's one file for this checkpoint, one fsync.
        await this.writeTaskFile(c);
        if (earlier.length > 0) await Promise.allSettled(earlier);
        const gcMs = startWindow && gcPauseWithin(startWindow.from, startWindow.to);
        // A task that wrote no file had every file durable here.
        if (c.phases.files === undefined) reached(c, 'writtenAtMs');
        const ackedAtMs = wallNow() - c.triggeredAt;
        const all: CheckpointPhases = {
          ...phases,
          asyncMs: performance.now() - start,
          ...c.phases,
          ackedAtMs,
          ...(gcMs !== undefined ? { gcMs } : {}),
        };
        // Files still on the writer thread go with the ports on which the writer tells the
        // coordinator they are durable: it completes the checkpoint only once each has, so the
        // writer's reply need not come round this loop first (one hop less on a busy core).
        const durable = c.handedOff.map((h) => h.notices);
        const ack: TaskReport = { type: 'ack', id: c.id, acks, phases: all, ...(channels ? { channels } : {}) };
        send(this.task.spec, durable.length > 0 ? { ...ack, durable } : ack, durable);
        // A failed write declines here (the coordinator waits for its notice until then).
        await Promise.all(c.handedOff.map((h) => h.written));
      })
      .catch((err) => {
        releaseSnapshots(c);
        if (err instanceof InFlightAborted) return;
        this.decline(c.id, err instanceof EddyError && err.code === 'SINK_FAILED' ? 'sink-prepare-failed' : 'snapshot-write-failed', err);
      });
    this.inFlight.add(p);
    this.moved = true;
    void p.finally(() => this.inFlight.delete(p));
  }

  /**
   * Unaligned: once every input's barrier is located, the task's in-flight data becomes a piece
   * of its file (none when there was nothing in flight). The ack waits for it like for any state.
   */
  private async writeInFlight(c: Captured): Promise<ChannelStateHandle | undefined> {
    if (c.inFlight === undefined) return undefined;
    const waitStart = performance.now();
    await c.inFlight.located;
    const encodeStart = performance.now();
    c.phases.channelWaitMs = encodeStart - waitStart;
    reached(c, 'locatedAtMs', c.inFlight.locatedAt);
    const state = c.inFlight.state();
    const bytes = channelStateBytes(state);
    if (bytes === 0) return undefined;
    const v = this.task.vertex;
    const subtask = this.task.spec.subtask;
    // Before the write: it takes the input payloads' buffers with it.
    const edges = this.describeEdges(state);
    const parts = encodeChannelStateParts(state);
    c.phases.encodeMs = performance.now() - encodeStart;
    reached(c, 'encodedAtMs');
    const file = c.file.add(parts, true);
    return { vertexId: v.id, vertex: v.name, subtask, parallelism: v.parallelism, file, bytes, edges };
  }

  /**
   * The steps of writeInFlight up to the write, on `state` with one tiny frame added per
   * channel (so every loop runs), its result dropped (see TaskCheckpointDriver.warmUnaligned).
   */
  warmInFlightWrite(state: TaskChannelState): void {
    const tiny = (c: ChannelFrames): ChannelFrames => ({ ...c, frames: [{ type: FRAME_RECORDS, flags: 0, payload: new Uint8Array(8) }] });
    const warm = { ...state, inputs: state.inputs.map(tiny), outputs: state.outputs.map(tiny) };
    channelStateBytes(warm);
    this.describeEdges(warm);
    encodeChannelStateParts(warm);
  }

  /**
   * Writes checkpoint `c`'s task file once every piece is in it (none: no file), timed as the
   * checkpoint's `writeMs`. With a writer thread it is handed over and durable later: the
   * coordinator hears of it from there (see persist).
   */
  private async writeTaskFile(c: Captured): Promise<void> {
    const f = c.file;
    if (f.pieces.length === 0) return void releaseSnapshots(c);
    const start = performance.now();
    const timing: StateFileWrite['timing'] & object = {};
    c.phases.files = 1;
    if (this.storage!.writesTaskFilesOffLoop) {
      const h = this.storage!.handOffTaskFile(f, { timing });
      c.handedOff.push(h);
      this.unwritten.add(h.written);
      void h.written
        .then(
          // Reaches the ack only if the reply came before it (else the writer's notice has these).
          () => this.noteWrite(c, start, timing),
          () => {},
        )
        .finally(() => {
          this.unwritten.delete(h.written);
          releaseSnapshots(c);
        });
      reached(c, 'writtenAtMs');
      return;
    }
    try {
      await this.loopBound(this.storage!.writeTaskFile(f, { timing }));
    } finally {
      releaseSnapshots(c);
    }
    reached(c, 'writtenAtMs');
    this.noteWrite(c, start, timing);
  }

  /** A write of `c` begun at `start` (performance.now) has ended: its time, and the writer's marks if it had one. */
  private noteWrite(c: Captured, start: number, timing: StateFileWrite['timing'] & object): void {
    c.phases.writeMs = Math.max(c.phases.writeMs ?? 0, performance.now() - start);
    if (timing.ioMs !== undefined) c.phases.writeIoMs = Math.max(c.phases.writeIoMs ?? 0, timing.ioMs);
    if (timing.tookAt !== undefined) reached(c, 'writerTookAtMs', timing.tookAt);
    if (timing.syncedAt !== undefined) reached(c, 'syncedAtMs', timing.syncedAt);
  }

  /** Every input and output edge of the task, with the bytes stored on it: what a rescale needs to know. */
  private describeEdges(state: TaskChannelState): ChannelEdgeInfo[] {
    const g = this.task.plan.jobGraph;
    const bytes = new Map<number, number>();
    for (const list of [state.inputs, state.outputs])
      for (const c of list) bytes.set(c.edge, (bytes.get(c.edge) ?? 0) + c.frames.reduce((n, f) => n + f.payload.length, 0));
    return [...this.task.vertex.inputs, ...this.task.vertex.outputs].map((e) => describeEdge(g, e, bytes.get(e.id) ?? 0));
  }

  /**
   * Before the task starts: its share of an unaligned checkpoint's in-flight data (replayed
   * before its rings, sent before anything new), and the watermark valve to restore before
   * that replay (see in-flight-restore.ts).
   */
  restoreInFlight(r: RestoreSpec): Promise<ValveState | undefined> {
    return restoreInFlight(this.task, r, this.storageFor(r));
  }

  /** The storage a restore reads: this run's own, or the directory the restore point lies in. */
  private storageFor(r: RestoreSpec): CheckpointStorage {
    return this.storage && r.checkpointDir === this.task.spec.checkpointDir ? this.storage : new CheckpointStorage(r.checkpointDir);
  }

  /** Checkpoint `id` will not complete at this task: tell the coordinator why, as data. */
  decline(id: number, code: CheckpointDeclineCode, cause: unknown): void {
    const where = cause instanceof EddyError && cause.operatorUid !== undefined ? cause.operatorUid : this.task.vertex.name;
    const message = messageOf(cause);
    send(this.task.spec, { type: 'decline', id, code, operatorUid: where, subtask: this.task.spec.subtask, message });
  }

  private async write(c: Captured): Promise<SubtaskAck[]> {
    const subtask = this.task.spec.subtask;
    const parallelism = this.task.vertex.parallelism;
    for (const [n, sealing] of c.sealing) {
      const handles = await this.loopBound(sealing);
      reached(c, 'capturedAtMs');
      const list = this.sealed.get(n)!;
      if (handles !== undefined && !(Array.isArray(handles) && handles.length === 0)) list.push({ id: c.id, subtask, handles });
      n.operatorState.list<SealedTransaction>(SINK_STATE, 'union').update(list);
      c.operator.set(n, snapshotOperatorState(n.operatorState));
    }
    // Keyed snapshots finish concurrently; each piece goes into the task file as it comes.
    const acks = await Promise.all(
      this.task.nodes
        .filter((n) => n.node.uid !== undefined && (c.keyed.has(n) || c.operator.has(n)))
        .map(async (n) => {
          const ack: SubtaskAck = { uid: n.uid, parallelism, subtask };
          const op = c.operator.get(n);
          const opFile = op ? c.file.add(op, true) : undefined;
          const keyed = await this.writeKeyed(c, n);
          if (keyed) ack.keyed = keyed;
          if (opFile) ack.operator = opFile;
          return ack;
        }),
    );
    return acks;
  }

  /**
   * Finishes a keyed snapshot and adds it to the task file: a full one as a new base, a delta
   * appended to its base's chain (a delta with no change adds no piece). Empty full state adds
   * no piece, as most operators hold none.
   */
  private async writeKeyed(c: Captured, n: NodeRuntime): Promise<KeyedStateHandle | undefined> {
    const k = c.keyed.get(n);
    if (!k) return undefined;
    const snap = await this.loopBound(k.job.run());
    reached(c, 'capturedAtMs');
    // The bytes stay the snapshot's until the file is written (an LMDB delta is read in place).
    if (snap.release) c.releases.push(snap.release);
    // The heap backend's snapshot bytes are a fresh buffer no one else holds: they may move to
    // the writer thread. An LMDB delta stays referenced (merged into the next one).
    const owned = n.keyed!.backend === 'heap';
    let handle: KeyedStateHandle | undefined;
    if (k.base === undefined || snap.rebased === true) {
      if (snap.index.length > 0) handle = { file: c.file.add(snap.data, owned, snap.crc32), keyGroups: snap.keyGroups, index: snap.index };
    } else if (snap.index.length === 0) {
      handle = k.base;
    } else {
      const file = c.file.add(snap.data, owned, snap.crc32);
      handle = { ...k.base, deltas: [...(k.base.deltas ?? []), { file, index: snap.index }] };
    }
    let w = this.written.get(n);
    if (!w) this.written.set(n, (w = new Map()));
    w.set(c.id, handle);
    return handle;
  }

  /** Checkpoint `id` completed: commit every sealed transaction up to it. */
  async notifyComplete(id: number, final: boolean): Promise<void> {
    for (const [n, w] of this.written) {
      if (w.has(id)) this.confirmed.set(n, w.get(id));
      for (const older of [...w.keys()]) if (older <= id) w.delete(older);
      this.changeLogs.get(n)?.confirm(id);
    }
    for (const [n, list] of this.sealed) {
      const due = list.filter((t) => t.id <= id);
      if (due.length === 0) continue;
      try {
        await n.writer!.commit?.(due.map((t) => t.handles));
      } catch (err) {
        throw new EddyError('SINK_FAILED', `sink '${n.uid}' failed to commit checkpoint ${id}: ${messageOf(err)}`, {
          operatorUid: n.uid,
          subtask: this.task.spec.subtask,
        });
      }
      this.sealed.set(
        n,
        list.filter((t) => t.id > id),
      );
    }
    if (final) this.finalNotified = true;
  }

  /** Before the task starts: load this task's share of a checkpoint into every operator. */
  async restore(r: RestoreSpec): Promise<void> {
    const storage = this.storageFor(r);
    const subtask = this.task.spec.subtask;
    const parallelism = this.task.vertex.parallelism;
    const byUid = new Map<string, OperatorStateHandles>(r.operators.map((o) => [o.uid, o]));
    for (const n of this.task.nodes) {
      if (n.node.uid === undefined) continue;
      const op = byUid.get(n.node.uid);
      if (!op) continue; // new operator: starts empty
      if (n.keyed) {
        const sameParallelism = op.parallelism === parallelism;
        let filesRead = 0;
        // Local recovery: the LMDB environment is exactly at this checkpoint (see LmdbKeyedStore).
        const local = sameParallelism && 'recoveredLocally' in n.keyed && n.keyed.recoveredLocally === true;
        if (!local) {
          const chains: KeyedSnapshotPart[][] = [];
          for (const s of op.subtasks) {
            if (!s.keyed || s.keyed.keyGroups.end < n.keyed.rangeStart || s.keyed.keyGroups.start > n.keyed.rangeEnd) continue;
            const chain: KeyedSnapshotPart[] = [];
            for (const layer of [{ file: s.keyed.file, index: s.keyed.index }, ...(s.keyed.deltas ?? [])]) {
              chain.push({ data: await storage.readStateFile(layer.file), index: layer.index, source: layer.file.file });
              filesRead++;
            }
            chains.push(chain);
          }
          restoreKeyedChains(n.keyed, chains);
        }
        // At the same parallelism this subtask's state is exactly its handle: deltas may build on it.
        if (sameParallelism && r.checkpointDir === this.task.spec.checkpointDir) {
          this.confirmed.set(n, op.subtasks.find((s) => s.subtask === subtask)?.keyed);
        }
        send(this.task.spec, { type: 'restored', operatorUid: n.uid, subtask, local, filesRead });
      }
      const opParts: Uint8Array[] = [];
      const names: string[] = [];
      for (const s of op.subtasks) {
        if (!s.operator) continue;
        opParts.push(await storage.readStateFile(s.operator));
        names.push(s.operator.file);
      }
      if (opParts.length > 0) restoreOperatorState(n.operatorState, opParts, subtask, parallelism, names);
      if (n.reader) this.restoreReader(n, op.parallelism === parallelism);
      if (n.writer) await this.recommit(n, r.checkpointId);
    }
  }

  private restoreReader(n: NodeRuntime, sameParallelism: boolean): void {
    const entries = n.operatorState.list<{ subtask: number; parallelism: number; state: unknown }>(SOURCE_STATE, 'union').get();
    if (entries.length === 0 || !n.reader!.restoreState) return;
    const mine = entries.find((e) => e.subtask === this.task.spec.subtask);
    if (sameParallelism && mine) n.reader!.restoreState(mine.state);
    else n.reader!.restoreState([...entries].sort((a, b) => a.subtask - b.subtask).map((e) => e.state));
  }

  /**
   * Transactions sealed for the restored checkpoint (or earlier) belong to a completed
   * checkpoint: commit them (commit is idempotent, they may have been committed already).
   * After a rescale, old subtask k's transactions go to new subtask k % parallelism.
   */
  private async recommit(n: NodeRuntime, checkpointId: number): Promise<void> {
    const p = this.task.vertex.parallelism;
    const all = n.operatorState.list<SealedTransaction>(SINK_STATE, 'union').get();
    const mine = all.filter((t) => t.subtask % p === this.task.spec.subtask && t.id <= checkpointId);
    n.operatorState.list<SealedTransaction>(SINK_STATE, 'union').update([]);
    if (mine.length > 0) await n.writer!.commit?.(mine.map((t) => t.handles));
  }

  /** Waits for snapshots still being written (so acks are not lost at the end). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }
}
