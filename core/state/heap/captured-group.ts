/**
 * One key group of a heap snapshot as captured on the record loop, before it is packed into
 * the keyed snapshot format (../snapshot-format.ts). Capture is the part the loop must pay
 * (it fixes the barrier-time state); packing may happen on another thread
 * (snapshot-packer.ts), so a captured group holds only what a thread boundary carries without
 * serialising: numbers in typed arrays, or bytes already encoded.
 *
 * Numeric form: when every stored key and value of the group's plain tables is a number (a
 * count, a sum, a numeric id), the capture is a copy into Float64Arrays — an order of magnitude
 * cheaper per entry than msgpack — and the packer rebuilds exactly the chunk the encoder would
 * have written from them. Anything else (strings, objects, lists, map state, TTL wrappers) is
 * encoded on the loop as before.
 */
import type { StateKind } from '../keyed-store.js';
import { encodeKeyGroupChunk } from '../snapshot-format.js';

export interface NumericGroup {
  kg: number;
  /** The tables with state in this group; position = table ref. */
  tables: [name: string, kind: StateKind][];
  /** Per table ref: stored keys and their values, in the group's order. */
  keys: Float64Array[];
  values: Float64Array[];
  /** Delta only, per table ref: stored keys removed since the base. */
  deleted?: Float64Array[];
}

export interface EncodedGroup {
  kg: number;
  bytes: Uint8Array;
}

export type CapturedGroup = NumericGroup | EncodedGroup;

/** The chunk bytes of a captured group: the same bytes the encoder writes for the same state. */
export function packCapturedGroup(g: CapturedGroup): Uint8Array {
  if ('bytes' in g) return g.bytes;
  const entries: number[] = [];
  g.keys.forEach((keys, ref) => {
    const values = g.values[ref];
    for (let i = 0; i < keys.length; i++) entries.push(ref, keys[i], values[i]);
  });
  if (g.deleted === undefined) return encodeKeyGroupChunk(g.kg, { tables: g.tables, entries });
  const deletions: number[] = [];
  g.deleted.forEach((keys, ref) => {
    for (let i = 0; i < keys.length; i++) deletions.push(ref, keys[i]);
  });
  return encodeKeyGroupChunk(g.kg, { tables: g.tables, entries, deletions });
}

/** The buffers a captured group can hand to another thread without copying. */
export function transferablesOf(g: CapturedGroup): ArrayBuffer[] {
  if ('bytes' in g) return [g.bytes.buffer as ArrayBuffer];
  return [...g.keys, ...g.values, ...(g.deleted ?? [])].map((a) => a.buffer as ArrayBuffer);
}
