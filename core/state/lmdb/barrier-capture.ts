/**
 * What a barrier (or a write-back under cache pressure) takes from the write-behind cache:
 * every changed entry, encoded into a batch for LMDB (and, for an incremental checkpoint, into
 * the delta), or, when an incremental barrier writes nothing to LMDB, into the delta only with
 * the entries left HELD in the cache. Both walk key groups and tables in LMDB key order
 * (key-codec.ts) and leave the cache's changed lists empty.
 */
import type { StateKind } from '../keyed-store.js';
import type { CaptureLog } from './capture-log.js';
import type { DeltaCapture } from './lmdb-snapshot.js';
import { ABSENT, HELD, UNLOGGED, type SlotCache } from './slot-cache.js';
import { encodeKey } from './key-codec.js';
import { encodeValue } from './value-codec.js';
import type { Batch } from './write-back.js';

/** The store's side a capture reads. */
export interface CaptureScope {
  readonly cache: SlotCache;
  readonly tables: readonly { kind: StateKind }[];
  /** Per table: whether it is TTL state (its values are wrapped). */
  readonly ttlTables: readonly boolean[];
  readonly rangeStart: number;
  readonly groupCount: number;
}

/** The stored form of a cached value (map state: its list of entries). */
export function storedForm(kind: StateKind, v: unknown): unknown {
  return kind === 'map' ? [...(v as Map<unknown, unknown>).values()] : v;
}

/** The LMDB bytes of slot s's table t (stored form `stored`); objects are measured on the way. */
function encodeSlot(cache: SlotCache, t: number, s: number, stored: unknown): Buffer {
  const bytes = encodeValue(stored);
  const v = cache.values[t][s];
  // What an object takes is known only from its encoding.
  if (typeof v === 'object' && v !== null) cache.setValue(t, s, v, bytes.length);
  return bytes;
}

/**
 * Encodes every changed or held entry into `batch`. The entries stay cached until it commits.
 * `delta`: also collects the changed ones into a delta snapshot (the same value bytes; held ones
 * are in an earlier delta already). `log`: a capture off the barrier records the changed keys
 * in the change log (capture-log.ts).
 */
export function captureChanged(scope: CaptureScope, batch: Batch, delta?: DeltaCapture, log?: CaptureLog): void {
  const { cache: c, tables } = scope;
  for (let gi = 0; gi < scope.groupCount; gi++) {
    const kg = scope.rangeStart + gi;
    for (let t = 0; t < tables.length; t++) {
      const kind = tables[t].kind;
      const held = c.heldList[t][gi];
      if (held !== undefined) {
        const state = c.dirty[t];
        for (let i = 0; i < held.length; i++) {
          const s = held[i];
          if (state[s] !== HELD) continue; // HELD_DIRTY: written below, with the changed ones
          const v = c.values[t][s];
          batch.add(encodeKey(kg, t, c.keys[s]), v === ABSENT ? undefined : encodeSlot(c, t, s, storedForm(kind, v)));
          c.captured(t, s, batch.gen);
        }
        c.heldList[t][gi] = undefined;
      }
      const list = c.dirtyList[t][gi];
      if (list === undefined) continue;
      const values = c.values[t];
      for (let i = 0; i < list.length; i++) {
        const s = list[i];
        const v = values[s];
        const key = encodeKey(kg, t, c.keys[s]);
        if (v === ABSENT) {
          batch.add(key, undefined);
          delta?.remove(t, gi, c.keys[s]);
        } else {
          const stored = storedForm(kind, v);
          const bytes = encodeSlot(c, t, s, stored);
          batch.add(key, bytes);
          delta?.set(t, gi, c.keys[s], stored, bytes);
        }
        c.captured(t, s, batch.gen);
        log?.mark(t, gi, c.keys[s]);
      }
      c.dirtyList[t][gi] = undefined;
    }
  }
}

/**
 * An incremental barrier with nothing in flight: the changed entries go into the delta only
 * and stay in the cache, HELD (pinned, as if dirty), until a write-back under cache pressure
 * or at a full checkpoint takes them to LMDB. Without a delta (a full snapshot read from the
 * cache holds them) they are only held. `logged`: the number log (number-log.ts) has the
 * values of numbers written since the last barrier, so only the UNLOGGED ones are read.
 */
export function holdChanged(scope: CaptureScope, delta: DeltaCapture | undefined, logged: boolean): void {
  const { cache: c, tables } = scope;
  for (let gi = 0; gi < scope.groupCount; gi++) {
    for (let t = 0; t < tables.length; t++) {
      const list = c.dirtyList[t][gi];
      if (list === undefined) continue;
      const values = c.values[t];
      const dirty = c.dirty[t];
      // A number goes into the delta as it is: the LMDB bytes are made when it is written back.
      const plain = scope.ttlTables[t] !== true;
      // Where a background write-back took keys, the delta reads them from LMDB and that value
      // would override a newer logged one: every changed value of the group is read instead.
      const readAll = !logged || delta?.tookOffBarrier(t, gi) === true;
      for (let i = 0; i < list.length; i++) {
        const s = list[i];
        if (delta === undefined || (!readAll && (dirty[s] & UNLOGGED) === 0)) {
          c.held(t, s);
          continue;
        }
        const v = values[s];
        if (v === ABSENT) delta.remove(t, gi, c.keys[s]);
        else if (plain && typeof v === 'number') delta.setNumber(t, gi, c.keys[s], v);
        else {
          const stored = storedForm(tables[t].kind, v);
          delta.set(t, gi, c.keys[s], stored, encodeSlot(c, t, s, stored));
        }
        c.held(t, s);
      }
      c.dirtyList[t][gi] = undefined;
    }
  }
}
