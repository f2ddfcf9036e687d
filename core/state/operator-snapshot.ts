/**
 * Snapshot and restore of operator (non-keyed) state. One subtask's snapshot is one msgpackr
 * message:
 *
 *   [ 1,                                   format version
 *     [[name, 'split' | 'union', items], …],  lists
 *     [[name, [[key, value], …]], …] ]        broadcast maps
 *
 * Restoring at another parallelism follows Flink: a split list is dealt round-robin over the
 * new subtasks, a union list goes whole to each, a broadcast map is the same everywhere so the
 * first old subtask's copy is taken.
 */
import { Packr, Unpackr } from 'msgpackr';
import { EddyError } from '../failure.js';
import type { ListRedistribution, OperatorStateStore } from './operator-state.js';

export const OPERATOR_SNAPSHOT_VERSION = 1;

type ListEntry = [name: string, mode: ListRedistribution, items: unknown[]];
type BroadcastEntry = [name: string, entries: [unknown, unknown][]];

const packr = new Packr({ useRecords: true, useBigIntExtension: true });
const unpackr = new Unpackr({ useRecords: true, useBigIntExtension: true });

/** Synchronous and copying, like the keyed snapshot: later changes do not reach the bytes. */
export function snapshotOperatorState(store: OperatorStateStore): Uint8Array {
  const lists: ListEntry[] = [...store.lists].map(([name, l]) => [name, l.mode, l.get()]);
  const broadcasts: BroadcastEntry[] = [...store.broadcasts].map(([name, b]) => [name, b.entries()]);
  // packr returns a view into a buffer it reuses; the copy is ours.
  return new Uint8Array(packr.pack([OPERATOR_SNAPSHOT_VERSION, lists, broadcasts]));
}

function decode(part: Uint8Array, where: string): { lists: ListEntry[]; broadcasts: BroadcastEntry[] } {
  const corrupt = (why: string) => new EddyError('CHECKPOINT_CORRUPT', `operator state snapshot ${where} is corrupt: ${why}`);
  let msg: unknown;
  try {
    msg = unpackr.unpack(part);
  } catch (err) {
    throw corrupt(`it does not decode (${(err as Error).message})`);
  }
  if (!Array.isArray(msg) || msg.length !== 3 || msg[0] !== OPERATOR_SNAPSHOT_VERSION) {
    throw corrupt(`it is not a version ${OPERATOR_SNAPSHOT_VERSION} operator state snapshot`);
  }
  const [, lists, broadcasts] = msg as [number, unknown, unknown];
  const listOk = (l: unknown) =>
    Array.isArray(l) && typeof l[0] === 'string' && (l[1] === 'split' || l[1] === 'union') && Array.isArray(l[2]);
  const mapOk = (b: unknown) =>
    Array.isArray(b) && typeof b[0] === 'string' && Array.isArray(b[1]) && b[1].every((e: unknown) => Array.isArray(e) && e.length === 2);
  if (!Array.isArray(lists) || !lists.every(listOk)) throw corrupt('malformed list state');
  if (!Array.isArray(broadcasts) || !broadcasts.every(mapOk)) throw corrupt('malformed broadcast state');
  return { lists: lists as ListEntry[], broadcasts: broadcasts as BroadcastEntry[] };
}

/**
 * Restores subtask `subtask` of `parallelism` from the snapshots of all old subtasks, given in
 * old-subtask order (the order decides which items a split list deals to whom).
 */
export function restoreOperatorState(
  store: OperatorStateStore,
  parts: readonly Uint8Array[],
  subtask: number,
  parallelism: number,
  sources?: readonly string[],
): void {
  if (!Number.isInteger(parallelism) || parallelism < 1 || !Number.isInteger(subtask) || subtask < 0 || subtask >= parallelism) {
    throw new EddyError('STATE_FAILED', `cannot restore operator state into subtask ${subtask} of parallelism ${parallelism}`);
  }
  const decoded = parts.map((p, i) => decode(p, sources?.[i] ?? `part ${i}`));
  const merged = new Map<string, { mode: ListRedistribution; items: unknown[] }>();
  decoded.forEach(({ lists }, i) => {
    for (const [name, mode, items] of lists) {
      const m = merged.get(name);
      if (!m) merged.set(name, { mode, items: [...items] });
      else if (m.mode !== mode) {
        throw new EddyError(
          'CHECKPOINT_CORRUPT',
          `operator state '${name}' is a ${m.mode} list in one subtask's snapshot and a ${mode} list in ${sources?.[i] ?? `part ${i}`}`,
        );
      } else for (const it of items) m.items.push(it);
    }
  });
  for (const [name, { mode, items }] of merged) {
    const mine = mode === 'union' ? items : items.filter((_, i) => i % parallelism === subtask);
    store.list<unknown>(name, mode).update(mine);
  }
  for (const [name, entries] of decoded[0]?.broadcasts ?? []) {
    const b = store.broadcast<unknown, unknown>(name);
    b.clear();
    b.putAll(entries);
  }
}
