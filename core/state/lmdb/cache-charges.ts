/**
 * What the LMDB cache (slot-cache.ts) charges its budget for what it holds on the heap, from
 * measured sizes (test/state/lmdb-cache.test.ts): the slot arrays by their capacity, a key
 * index entry per cached key, and each value's size.
 */
import { CELL_BYTES } from './key-index.js';

/**
 * Heap bytes of one cached key's Map entry (keys other than numbers, key-index.ts): V8's ordered
 * hash table holds key, value and chain (24 B) and half a bucket per entry (measured: about
 * 24 B at the table's usual fill).
 */
export const MAP_ENTRY_BYTES = 24;
/** Heap bytes of the slot arrays per slot of capacity: keys 8, gen 4, size 4, group 2, ref 1, pins 1. */
export const SLAB_BYTES = 20;
/** And per state table: value cell 8, valueSize 4, dirty 1. */
export const TABLE_SLAB_BYTES = 13;
/**
 * Heap bytes per byte of msgpack for object values (arrays, objects, map state): a JS object
 * graph is several times the size of its msgpack encoding (pointers, headers, hidden classes).
 */
export const OBJECT_BYTES_PER_ENCODED_BYTE = 4;
/** The first guess for an object value of a table none of whose objects was encoded yet. */
export const FIRST_OBJECT_BYTES = 128;

/**
 * Heap bytes of one number key in its key index (key-index.ts): a 16-byte cell at the table's
 * average load (between growths it is filled from 3/8 to 3/4: about 0.53). Charged per key,
 * not by the table's capacity, so that evicting a key frees what it is charged: the tables of
 * all key groups grow at about the same time under uniform keys, and a charge by capacity
 * jumped by a quarter of a small cache at once.
 */
export const NUMBER_KEY_BYTES = Math.round(CELL_BYTES / 0.53);

/** Bytes a cache holding every key at full capacity charges per key with `tables` primitive values (number keys). */
export function bytesPerKey(tables: number): number {
  return NUMBER_KEY_BYTES + SLAB_BYTES + TABLE_SLAB_BYTES * tables;
}

/** A small integer is stored in the array cell (Smi); any other number is a 16-byte HeapNumber. */
export const numberBytes = (v: number): number => ((v | 0) === v && v <= 0x3fffffff && v >= -0x40000000 ? 0 : 16);

/**
 * Heap bytes of a primitive value as V8 holds it in an array cell (beyond the cell itself); objects:
 * `encodedBytes` (their msgpack length, when known) scaled, else `unseenObject` until they are encoded.
 */
export function valueBytes(v: unknown, encodedBytes = -1, unseenObject = FIRST_OBJECT_BYTES): number {
  switch (typeof v) {
    case 'number':
      return numberBytes(v);
    case 'string':
      return 16 + ((v.length + 7) & ~7);
    case 'bigint':
      return 16 + 8 * Math.ceil(v.toString(16).length / 16);
    case 'object':
      if (v === null) return 0;
      return encodedBytes >= 0 ? 32 + encodedBytes * OBJECT_BYTES_PER_ENCODED_BYTE : unseenObject;
    default:
      return 0;
  }
}
