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
import { CheckpointStorage } from '../core/checkpoint/storage.js';
import type { SnapshotKind, SubtaskAck } from '../core/checkpoint/coordinator.js';
import type { OperatorStateHandles } from '../core/checkpoint/metadata.js';
import { EddyError } from '../core/failure.js';
import { operatorFailure } from '../core/operators/failures.js';
import type { RestoreSpec } from '../core/runtime/messages.js';
import { restoreKeyedStore, restoreOperatorState, snapshotKeyedStore, snapshotOperatorState } from '../core/state/snapshot.js';
import { send } from './control-port.js';
import type { NodeRuntime, StreamTask } from './task.js';

const SOURCE_STATE = '__eddy.source';
const SINK_STATE = '__eddy.sink';

interface SealedTransaction {
  id: number;
  subtask: number;
  handles: unknown;
}

interface Captured {
  id: number;
  /** A savepoint is always a full snapshot in the canonical format. */
  kind: SnapshotKind;
  keyed: Map<NodeRuntime, ReturnType<typeof snapshotKeyedStore>>;
  operator: Map<NodeRuntime, Uint8Array>;
  /** Sinks: the transaction sealed at this barrier (prepareCommit may finish asynchronously). */
  sealing: Map<NodeRuntime, Promise<unknown>>;
}

/** File names allow only a safe alphabet: a uid may contain anything. */
function fileSafe(uid: string): string {
  return uid.replace(/[^A-Za-z0-9_-]/g, (c) => `~${c.charCodeAt(0).toString(16)}`);
}

export class TaskCheckpointer {
  /** Undefined when the run restores (from a savepoint) but does not checkpoint. */
  private readonly storage: CheckpointStorage | undefined;
  /** Per sink node: sealed, uncommitted transactions, oldest first. */
  private readonly sealed = new Map<NodeRuntime, SealedTransaction[]>();
  /** Snapshots being written; a failure there declines the checkpoint. */
  private inFlight = new Set<Promise<void>>();
  finalNotified = false;

  constructor(private readonly task: StreamTask) {
    this.storage = task.spec.checkpointDir !== undefined ? new CheckpointStorage(task.spec.checkpointDir) : undefined;
    for (const n of task.nodes) if (n.writer) this.sealed.set(n, []);
  }

  /**
   * The synchronous part, at the barrier: capture every operator's state now. Must run before
   * any record after the barrier reaches the chain.
   */
  capture(id: number, kind: SnapshotKind): Captured {
    const c: Captured = { id, kind, keyed: new Map(), operator: new Map(), sealing: new Map() };
    for (const n of this.task.nodes) {
      if (n.node.uid === undefined) continue;
      if (n.reader) {
        const list = n.operatorState.list<unknown>(SOURCE_STATE, 'union');
        list.update([{ subtask: this.task.spec.subtask, parallelism: this.task.vertex.parallelism, state: n.reader.snapshotState?.() }]);
      }
      // Empty state writes no file: each file costs an fsync, and most operators hold none.
      if (n.keyed) {
        const snap = snapshotKeyedStore(n.keyed);
        if (snap.index.length > 0) c.keyed.set(n, snap);
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

  /** The asynchronous part: seal sinks, write files, fsync, then acknowledge. */
  persist(c: Captured, alignmentMs: number): void {
    const p = this.write(c).then(
      (acks) => send(this.task.spec, { type: 'ack', id: c.id, acks, alignmentMs }),
      (err) => send(this.task.spec, { type: 'decline', id: c.id, reason: `${this.task.name}: ${err instanceof Error ? err.message : String(err)}` }),
    );
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async write(c: Captured): Promise<SubtaskAck[]> {
    const storage = this.storage!;
    const subtask = this.task.spec.subtask;
    const parallelism = this.task.vertex.parallelism;
    for (const [n, sealing] of c.sealing) {
      const handles = await sealing;
      const list = this.sealed.get(n)!;
      if (handles !== undefined && !(Array.isArray(handles) && handles.length === 0)) list.push({ id: c.id, subtask, handles });
      n.operatorState.list<SealedTransaction>(SINK_STATE, 'union').update(list);
      c.operator.set(n, snapshotOperatorState(n.operatorState));
    }
    // Files are written concurrently: their fsyncs overlap instead of queueing.
    const acks = await Promise.all(
      this.task.nodes
        .filter((n) => n.node.uid !== undefined && (c.keyed.has(n) || c.operator.has(n)))
        .map(async (n) => {
          const ack: SubtaskAck = { uid: n.uid, parallelism, subtask };
          const base = `${fileSafe(n.uid)}-${subtask}`;
          const keyed = c.keyed.get(n);
          const op = c.operator.get(n);
          const [keyedFile, opFile] = await Promise.all([
            keyed ? storage.writeStateFile(c.id, `${base}-keyed.bin`, keyed.data) : undefined,
            op ? storage.writeStateFile(c.id, `${base}-operator.bin`, op) : undefined,
          ]);
          if (keyed && keyedFile) ack.keyed = { file: keyedFile, keyGroups: keyed.keyGroups, index: keyed.index };
          if (opFile) ack.operator = opFile;
          return ack;
        }),
    );
    return acks;
  }

  /** Checkpoint `id` completed: commit every sealed transaction up to it. */
  async notifyComplete(id: number, final: boolean): Promise<void> {
    for (const [n, list] of this.sealed) {
      const due = list.filter((t) => t.id <= id);
      if (due.length === 0) continue;
      try {
        await n.writer!.commit?.(due.map((t) => t.handles));
      } catch (err) {
        throw new EddyError('SINK_FAILED', `sink '${n.uid}' failed to commit checkpoint ${id}: ${err instanceof Error ? err.message : String(err)}`, {
          operatorUid: n.uid,
          subtask: this.task.spec.subtask,
        });
      }
      this.sealed.set(n, list.filter((t) => t.id > id));
    }
    if (final) this.finalNotified = true;
  }

  /** Before the task starts: load this task's share of a checkpoint into every operator. */
  async restore(r: RestoreSpec): Promise<void> {
    const storage = this.storage && r.checkpointDir === this.task.spec.checkpointDir ? this.storage : new CheckpointStorage(r.checkpointDir);
    const subtask = this.task.spec.subtask;
    const parallelism = this.task.vertex.parallelism;
    const byUid = new Map<string, OperatorStateHandles>(r.operators.map((o) => [o.uid, o]));
    for (const n of this.task.nodes) {
      if (n.node.uid === undefined) continue;
      const op = byUid.get(n.node.uid);
      if (!op) continue; // new operator: starts empty
      if (n.keyed) {
        const parts = [];
        for (const s of op.subtasks) {
          if (!s.keyed || s.keyed.keyGroups.end < n.keyed.rangeStart || s.keyed.keyGroups.start > n.keyed.rangeEnd) continue;
          parts.push({ data: await storage.readStateFile(s.keyed.file), index: s.keyed.index, source: s.keyed.file.file });
        }
        restoreKeyedStore(n.keyed, parts);
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
