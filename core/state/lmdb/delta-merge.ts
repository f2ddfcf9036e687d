/**
 * Two consecutive deltas as one (older, then newer): what a delta must hold when the checkpoint
 * before it is still unconfirmed, so both lie between the confirmed base and this barrier (see
 * capture-log.ts). A key group in only one of them is taken as it is; in both, its entries
 * and deletions are combined key by key, the newer winning.
 */
import {
  decodeKeyGroupChunk,
  encodeKeyGroupChunk,
  KeyedSnapshotWriter,
  type KeyedSnapshot,
  type KeyGroupChunk,
} from '../snapshot-format.js';
import type { StateKind } from '../keyed-store.js';

const DELETED = Symbol('deleted');

function chunksOf(s: KeyedSnapshot): Map<number, Uint8Array> {
  return new Map(s.index.map(([kg, offset, length]) => [kg, s.data.subarray(offset, offset + length)]));
}

function mergeChunks(kg: number, older: KeyGroupChunk, newer: KeyGroupChunk): KeyGroupChunk {
  // Per table name: stored key → value or DELETED, in the order the layers apply them.
  const byTable = new Map<string, { kind: StateKind; keys: Map<unknown, unknown> }>();
  for (const c of [older, newer]) {
    const table = (ref: unknown) => {
      const [name, kind] = c.tables[ref as number];
      let t = byTable.get(name);
      if (t === undefined) byTable.set(name, (t = { kind, keys: new Map() }));
      return t.keys;
    };
    for (let i = 0; i < c.entries.length; i += 3) table(c.entries[i]).set(c.entries[i + 1], c.entries[i + 2]);
    const d = c.deletions ?? [];
    for (let i = 0; i < d.length; i += 2) table(d[i]).set(d[i + 1], DELETED);
  }
  const merged: KeyGroupChunk = { tables: [], entries: [], deletions: [] };
  for (const [name, { kind, keys }] of byTable) {
    const ref = merged.tables.push([name, kind]) - 1;
    for (const [k, v] of keys) {
      if (v === DELETED) merged.deletions!.push(ref, k);
      else merged.entries.push(ref, k, v);
    }
  }
  return merged;
}

export function mergeDeltas(older: KeyedSnapshot, newer: KeyedSnapshot): KeyedSnapshot {
  const a = chunksOf(older);
  const b = chunksOf(newer);
  const writer = new KeyedSnapshotWriter();
  for (const kg of [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => x - y)) {
    const x = a.get(kg);
    const y = b.get(kg);
    if (x === undefined || y === undefined) writer.addEncoded(kg, (x ?? y)!);
    else writer.addEncoded(kg, encodeKeyGroupChunk(kg, mergeChunks(kg, decodeKeyGroupChunk(x, kg), decodeKeyGroupChunk(y, kg))));
  }
  return writer.finish(newer.keyGroups);
}
