/**
 * Snapshots of the heap backend in the shared keyed format (../snapshot-format.ts): full, or a
 * delta of the keys changed since the base. Restore goes through ../keyed-restore.ts.
 */
import type { ChangedKeys } from '../change-log.js';
import { yieldTurn, type SnapshotJob } from '../keyed-backend.js';
import type { StateKind } from '../keyed-store.js';
import { encodeKeyGroupChunk, KeyedSnapshotWriter, type KeyedSnapshot } from '../snapshot-format.js';
import { liveValue } from '../ttl.js';
import type { HeapKeyedStore } from './heap-keyed-store.js';

/** Key groups encoded per event-loop turn in the background. */
const GROUPS_PER_TURN = 4;

/**
 * One key group's chunk as it is now, or undefined when it holds nothing (for a delta:
 * nothing changed). Values are encoded into fresh bytes, so the record loop may change them
 * right after.
 */
function encodeGroup(store: HeapKeyedStore, tableCount: number, kg: number, delta: ChangedKeys | undefined, now: number): Uint8Array | undefined {
  const tables = store.tableDescriptors();
  const gi = kg - store.rangeStart;
  const used: [string, StateKind][] = [];
  const entries: unknown[] = [];
  const deletions: unknown[] = [];
  for (let t = 0; t < tableCount; t++) {
    const group = store.keyGroupTable(t, kg);
    const kind = tables[t].kind;
    const ttl = store.ttlTables[t] === true;
    const ref = used.length;
    let any = false;
    // Snapshot form of a stored value; expired TTL values count as absent.
    const form = (v: unknown): unknown => {
      if (v === undefined) return undefined;
      const s = kind === 'map' ? [...(v as Map<unknown, unknown>).values()] : v;
      return ttl ? liveValue(kind, s, now) : s;
    };
    if (delta === undefined) {
      for (const [k, v] of group) {
        const s = form(v);
        if (s === undefined) continue;
        entries.push(ref, k, s);
        any = true;
      }
    } else {
      const changed = delta[t]?.[gi];
      if (changed === undefined) continue;
      for (const k of changed) {
        const s = form(group.get(k));
        if (s === undefined) deletions.push(ref, k);
        else entries.push(ref, k, s);
        any = true;
      }
    }
    if (any) used.push([tables[t].name, tables[t].kind]);
  }
  if (used.length === 0) return undefined;
  return encodeKeyGroupChunk(kg, delta === undefined ? { tables: used, entries } : { tables: used, entries, deletions });
}

/**
 * A snapshot fixed at the barrier and encoded group by group: in the background, or at once
 * when the record loop is about to touch a group (the store calls encodeGroup from
 * setCurrentKey while `pending[group] === 1`).
 */
export class HeapSnapshotJob implements SnapshotJob {
  /** 1 = this group (index from rangeStart) is not encoded yet. */
  readonly pending: Uint8Array;
  private readonly chunks: (Uint8Array | undefined)[];
  /** Tables registered after the barrier held nothing at the barrier. */
  private readonly tableCount: number;
  /** TTL expiry is judged at the barrier's time. */
  private readonly now: number;

  constructor(
    private readonly store: HeapKeyedStore,
    private readonly delta: ChangedKeys | undefined,
    private readonly onDone: () => void,
  ) {
    const n = store.rangeEnd - store.rangeStart + 1;
    this.pending = new Uint8Array(n).fill(1);
    this.chunks = new Array(n).fill(undefined);
    this.tableCount = store.tableDescriptors().length;
    this.now = store.ttlClock?.() ?? 0;
  }

  encodeGroup(gi: number): void {
    this.pending[gi] = 0;
    this.chunks[gi] = encodeGroup(this.store, this.tableCount, this.store.rangeStart + gi, this.delta, this.now);
  }

  finishNow(): void {
    for (let gi = 0; gi < this.pending.length; gi++) if (this.pending[gi] === 1) this.encodeGroup(gi);
    this.onDone();
  }

  async run(): Promise<KeyedSnapshot> {
    let n = 0;
    for (let gi = 0; gi < this.pending.length; gi++) {
      if (this.pending[gi] !== 1) continue;
      this.encodeGroup(gi);
      if (++n % GROUPS_PER_TURN === 0) await yieldTurn();
    }
    this.onDone();
    const writer = new KeyedSnapshotWriter();
    this.chunks.forEach((bytes, gi) => {
      if (bytes !== undefined) writer.addEncoded(this.store.rangeStart + gi, bytes);
    });
    return writer.finish({ start: this.store.rangeStart, end: this.store.rangeEnd });
  }
}

/** A full snapshot taken synchronously, all at once (tests, savepoint tools). */
export function snapshotKeyedStore(store: HeapKeyedStore): KeyedSnapshot {
  const writer = new KeyedSnapshotWriter();
  const tableCount = store.tableDescriptors().length;
  for (let kg = store.rangeStart; kg <= store.rangeEnd; kg++) {
    const bytes = encodeGroup(store, tableCount, kg, undefined, store.ttlClock?.() ?? 0);
    if (bytes !== undefined) writer.addEncoded(kg, bytes);
  }
  return writer.finish({ start: store.rangeStart, end: store.rangeEnd });
}

export { restoreKeyedStore } from '../keyed-restore.js';
