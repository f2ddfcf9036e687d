/**
 * Full snapshots of the heap backend in the shared keyed format (../snapshot-format.ts), and
 * restore from any number of such snapshots, taken at any parallelism.
 */
import { EddyError } from '../../failure.js';
import { storedKey, type StateKind } from '../keyed-store.js';
import { forEachKeyGroupChunk, KeyedSnapshotWriter, type KeyedSnapshot, type KeyedSnapshotPart } from '../snapshot-format.js';
import type { HeapKeyedStore } from './heap-keyed-store.js';

/**
 * Synchronous on purpose: it runs at the barrier and must capture exactly that moment. Values
 * are encoded into fresh bytes before returning, so nothing in the snapshot aliases state the
 * record loop mutates afterwards (a list appended in place, a map entry overwritten).
 */
export function snapshotKeyedStore(store: HeapKeyedStore): KeyedSnapshot {
  const tables = store.tableDescriptors();
  const writer = new KeyedSnapshotWriter();
  for (let kg = store.rangeStart; kg <= store.rangeEnd; kg++) {
    const used: [string, StateKind][] = [];
    const entries: unknown[] = [];
    for (let t = 0; t < tables.length; t++) {
      const group = store.keyGroupTable(t, kg);
      if (group.size === 0) continue;
      const ref = used.length;
      used.push([tables[t].name, tables[t].kind]);
      if (tables[t].kind === 'map') {
        for (const [k, m] of group) entries.push(ref, k, [...(m as Map<unknown, unknown>).values()]);
      } else {
        for (const [k, v] of group) entries.push(ref, k, v);
      }
    }
    if (used.length > 0) writer.add(kg, { tables: used, entries });
  }
  return writer.finish({ start: store.rangeStart, end: store.rangeEnd });
}

/**
 * Loads every key group of the store's range found in `parts` (one per old subtask, any old
 * parallelism); other key groups are skipped without decoding. Meant for a freshly created
 * store: entries are set, not merged with what is there.
 */
export function restoreKeyedStore(store: HeapKeyedStore, parts: readonly KeyedSnapshotPart[]): void {
  forEachKeyGroupChunk(parts, { start: store.rangeStart, end: store.rangeEnd }, (kg, chunk) => {
    const ids = chunk.tables.map(([name, kind]) => registerForRestore(store, name, kind));
    const { entries } = chunk;
    for (let i = 0; i < entries.length; i += 3) {
      const ref = entries[i] as number;
      const group = store.keyGroupTable(ids[ref], kg);
      if (chunk.tables[ref][1] === 'map') {
        const m = new Map<unknown, unknown>();
        for (const pair of entries[i + 2] as [unknown, unknown][]) m.set(storedKey(pair[0]), pair);
        group.set(entries[i + 1], m);
      } else {
        group.set(entries[i + 1], entries[i + 2]);
      }
    }
  });
}

function registerForRestore(store: HeapKeyedStore, name: string, kind: StateKind): number {
  try {
    return store.register(name, kind);
  } catch (err) {
    if (!(err instanceof EddyError)) throw err;
    throw new EddyError('STATE_FAILED', `the checkpoint holds '${name}' as ${kind} state, but this operator declares it differently: ${err.message}`);
  }
}
