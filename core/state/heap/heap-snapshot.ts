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

/** A captured entry that did not exist at the barrier (created after it). */
const ABSENT: unique symbol = Symbol('absent at the barrier');

/** Snapshot form of a stored value (map state: its [userKey, value] pairs). */
const formOf = (kind: StateKind, v: unknown): unknown => (kind === 'map' ? [...(v as Map<unknown, unknown>).values()] : v);

/**
 * A copy of a value's snapshot form that later in-place mutation (a list pushed to, an object
 * whose field is set) cannot reach. Primitives are immutable already.
 */
const detached = (form: unknown): unknown => (typeof form === 'object' && form !== null ? structuredClone(form) : form);

/**
 * One key group's chunk as it was at the barrier, or undefined when it held nothing (for a
 * delta: nothing changed). An entry the record loop touched since the barrier has its
 * barrier-time form in `saved[table]` (ABSENT: did not exist then); every other live entry is
 * unchanged since the barrier. Values are encoded into fresh bytes.
 */
function encodeGroup(
  store: HeapKeyedStore,
  tableCount: number,
  kg: number,
  delta: ChangedKeys | undefined,
  now: number,
  saved: readonly (Map<unknown, unknown> | undefined)[] | undefined,
): Uint8Array | undefined {
  const tables = store.tableDescriptors();
  const gi = kg - store.rangeStart;
  const used: [string, StateKind][] = [];
  const entries: unknown[] = [];
  const deletions: unknown[] = [];
  for (let t = 0; t < tableCount; t++) {
    const group = store.keyGroupTable(t, kg);
    const kind = tables[t].kind;
    const ttl = store.ttlTables[t] === true;
    const before = saved?.[t];
    const ref = used.length;
    let any = false;
    // The barrier-time snapshot form of key k; expired TTL values count as absent.
    const atBarrier = (k: unknown, live: unknown): unknown => {
      let s: unknown;
      if (before !== undefined && before.has(k)) {
        s = before.get(k);
        if (s === ABSENT) return undefined;
      } else {
        if (live === undefined) return undefined;
        s = formOf(kind, live);
      }
      return ttl ? liveValue(kind, s, now) : s;
    };
    if (delta === undefined) {
      for (const [k, v] of group) {
        const s = atBarrier(k, v);
        if (s === undefined) continue;
        entries.push(ref, k, s);
        any = true;
      }
      // Entries removed since the barrier are no longer live but were there at it.
      if (before !== undefined)
        for (const [k, s] of before) {
          if (s === ABSENT || group.has(k)) continue;
          const v = ttl ? liveValue(kind, s, now) : s;
          if (v === undefined) continue;
          entries.push(ref, k, v);
          any = true;
        }
    } else {
      const changed = delta[t]?.[gi];
      if (changed === undefined) continue;
      for (const k of changed) {
        const s = atBarrier(k, group.get(k));
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
 * A snapshot fixed at the barrier in O(1), with copy-on-write per entry after it (Flink's
 * CopyOnWriteStateMap, adapted to JS Maps): nothing is copied at the barrier; while the job is
 * open, the store calls `capture` before the record loop reads or changes an entry of a group
 * not yet encoded, and the first such touch saves that entry's barrier-time form (or ABSENT).
 * The background pass encodes each group from the live map plus those saved forms, so the
 * record loop pays only for the entries it touches, and a plain Map entry carries no wrapper.
 */
export class HeapSnapshotJob implements SnapshotJob {
  /** 1 = this group (index from rangeStart) is encoded: its chunk is fixed, nothing to capture. */
  private readonly encoded: Uint8Array;
  private readonly chunks: (Uint8Array | undefined)[];
  /** saved[table][groupIndex]: stored key → barrier-time snapshot form, or ABSENT. */
  private readonly saved: (Map<unknown, unknown> | undefined)[][];
  /** Tables registered after the barrier held nothing at the barrier. */
  private readonly tableCount: number;
  private readonly kinds: StateKind[];
  /** TTL expiry is judged at the barrier's time. */
  private readonly now: number;

  constructor(
    private readonly store: HeapKeyedStore,
    private readonly delta: ChangedKeys | undefined,
    private readonly onDone: () => void,
  ) {
    const n = store.rangeEnd - store.rangeStart + 1;
    this.encoded = new Uint8Array(n);
    this.chunks = new Array(n).fill(undefined);
    this.kinds = store.tableDescriptors().map((t) => t.kind);
    this.tableCount = this.kinds.length;
    this.saved = this.kinds.map(() => new Array(n).fill(undefined));
    this.now = store.ttlClock?.() ?? 0;
  }

  /** Before the record loop reads (and may mutate in place) or changes `stored` in `table`, group `gi`. */
  capture(table: number, gi: number, stored: unknown): void {
    if (this.encoded[gi] === 1 || table >= this.tableCount) return;
    const byGroup = this.saved[table];
    let m = byGroup[gi];
    if (m === undefined) m = byGroup[gi] = new Map();
    else if (m.has(stored)) return;
    const live = this.store.keyGroupTable(table, this.store.rangeStart + gi).get(stored);
    m.set(stored, live === undefined ? ABSENT : detached(formOf(this.kinds[table], live)));
  }

  private encodeGroup(gi: number): void {
    this.chunks[gi] = encodeGroup(this.store, this.tableCount, this.store.rangeStart + gi, this.delta, this.now, this.saved.map((byGroup) => byGroup[gi]));
    this.encoded[gi] = 1;
    for (const byGroup of this.saved) byGroup[gi] = undefined;
  }

  finishNow(): void {
    for (let gi = 0; gi < this.encoded.length; gi++) if (this.encoded[gi] === 0) this.encodeGroup(gi);
    this.onDone();
  }

  async run(): Promise<KeyedSnapshot> {
    let n = 0;
    for (let gi = 0; gi < this.encoded.length; gi++) {
      if (this.encoded[gi] === 1) continue;
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
    const bytes = encodeGroup(store, tableCount, kg, undefined, store.ttlClock?.() ?? 0, undefined);
    if (bytes !== undefined) writer.addEncoded(kg, bytes);
  }
  return writer.finish({ start: store.rangeStart, end: store.rangeEnd });
}

export { restoreKeyedStore } from '../keyed-restore.js';
