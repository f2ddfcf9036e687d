/**
 * Restore of keyed state into any backend from the canonical format: per old subtask a chain
 * of a full snapshot followed by deltas (incremental checkpoints), applied in order. Key
 * groups are disjoint between old subtasks, so chains are applied one after the other; within
 * a chain a later delta overrides an earlier layer key by key.
 */
import { EddyError } from '../failure.js';
import type { KeyedBackend } from './keyed-backend.js';
import type { StateKind } from './keyed-store.js';
import { forEachKeyGroupChunk, type KeyedSnapshotPart, type KeyGroupChunk } from './snapshot-format.js';

/** Loads every key group of the store's range from `chains` (each: base, then deltas). */
export function restoreKeyedChains(store: KeyedBackend, chains: readonly (readonly KeyedSnapshotPart[])[]): void {
  const range = { start: store.rangeStart, end: store.rangeEnd };
  store.beginRestore();
  try {
    // The base layer of all old subtasks together: a key group found twice is refused there.
    forEachKeyGroupChunk(
      chains.map((c) => c[0]).filter((p) => p !== undefined),
      range,
      (kg, chunk) => {
        // Appends and entry changes need the list or map they change: only a delta may hold them.
        if (chunk.appends !== undefined || chunk.entryChanges !== undefined) {
          throw new EddyError(
            'CHECKPOINT_CORRUPT',
            `keyed state snapshot: the full snapshot's key group ${kg} ${chunk.appends !== undefined ? 'appends to lists' : 'changes map entries'}, which only a delta may`,
          );
        }
        applyChunk(store, kg, chunk);
      },
    );
    for (const chain of chains) {
      for (let d = 1; d < chain.length; d++) forEachKeyGroupChunk([chain[d]], range, (kg, chunk) => applyChunk(store, kg, chunk));
    }
  } finally {
    store.endRestore();
  }
}

/** Full snapshots only (one per old subtask). */
export function restoreKeyedStore(store: KeyedBackend, parts: readonly KeyedSnapshotPart[]): void {
  restoreKeyedChains(
    store,
    parts.map((p) => [p]),
  );
}

function applyChunk(store: KeyedBackend, kg: number, chunk: KeyGroupChunk): void {
  const ids = chunk.tables.map(([name, kind]) => registerForRestore(store, name, kind));
  const { entries, deletions, appends, entryChanges } = chunk;
  for (let i = 0; i < entries.length; i += 3) store.restoreSet(ids[entries[i] as number], kg, entries[i + 1], entries[i + 2]);
  if (deletions) for (let i = 0; i < deletions.length; i += 2) store.restoreDelete(ids[deletions[i] as number], kg, deletions[i + 1]);
  if (appends) {
    for (let i = 0; i < appends.length; i += 3)
      store.restoreAppend(ids[appends[i] as number], kg, appends[i + 1], appends[i + 2] as unknown[]);
  }
  if (entryChanges) {
    for (let i = 0; i < entryChanges.length; i += 4) {
      const [t, stored, puts, removed] = [entryChanges[i], entryChanges[i + 1], entryChanges[i + 2], entryChanges[i + 3]];
      store.restoreEntries(ids[t as number], kg, stored, puts as [unknown, unknown][], removed as unknown[]);
    }
  }
}

function registerForRestore(store: KeyedBackend, name: string, kind: StateKind): number {
  try {
    return store.register(name, kind);
  } catch (err) {
    if (!(err instanceof EddyError)) throw err;
    throw new EddyError(
      'STATE_FAILED',
      `the checkpoint holds '${name}' as ${kind} state, but this operator declares it differently: ${err.message}`,
    );
  }
}
