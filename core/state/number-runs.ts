/**
 * The number-run chunk: a key group whose tables hold only numeric keys and values (counts,
 * sums, numeric ids: the heap backend's numeric tables, heap/numeric-slots.ts), written as raw
 * little-endian runs of its keys and values instead of one msgpack number per key, value and
 * table ref. Writing a run is a copy (and, for integers, a narrowing to Int32); the msgpack
 * form cost the packer thread about 15 ns per entry at 2M keys. It is still one msgpack
 * message, so it sits in a snapshot beside version-1 chunks and decodes on its own
 * (snapshot-format.ts):
 *
 *   chunk = [ 2,                          format version of this chunk kind
 *             kg,
 *             [[name, kind], …],          as in version 1; position = table ref
 *             [keys 0, values 0,          per table ref, two runs of the same length
 *              keys 1, values 1, …],
 *             [deleted 0, deleted 1, …] ] only in a delta: per table ref, the keys removed
 *
 *   run   = bin 32 ‖ width (1 byte: 1 = Int8, 2 = Int16, 4 = Int32, 8 = Float64) ‖ elements,
 *           little-endian
 *
 * Float64 runs keep every number as it is (-0, NaN, ±Infinity); a run is an integer run only
 * when every element is an int32 other than -0, and then of the narrowest width that holds
 * them all (a count of a few is one byte).
 */
import { Packr } from 'msgpackr';
import { endianness } from 'node:os';
import { writeArrayHeader } from '../msgpack-write.js';
import { ChunkSpace } from './chunk-space.js';
import type { StateKind } from './keyed-store.js';

/** The `version` field of a number-run chunk (version 1 is the msgpack entry list). */
export const NUMBER_RUNS_VERSION = 2;
const INT8 = 1;
const INT16 = 2;
const INT32 = 4;
const FLOAT64 = 8;
/** msgpack bin 32: tag and a 4-byte length. */
const BIN32 = 0xc6;
const BIN32_HEADER = 5;
/** Header bytes of one run: the bin header and the width byte. */
const RUN_HEADER = BIN32_HEADER + 1;

/** Typed arrays are the platform's byte order; runs are little-endian (every platform Node ships on but s390x). */
export const NUMBER_RUNS_WRITABLE = endianness() === 'LE';

const packr = new Packr({ useRecords: true, useBigIntExtension: true });

/** Where chunks are written and left (module state, one thread). */
const space = new ChunkSpace(1 << 20);
let narrow = new Int32Array(1 << 12);
/** Where Int32 elements are narrowed further (Int8 or Int16), as bytes. */
let narrowTo = new Int16Array(1 << 12);

/** Bytes per element of the narrowest run for integers in [min, max]. */
const widthOf = (min: number, max: number): number => (min >= -0x80 && max < 0x80 ? INT8 : min >= -0x8000 && max < 0x8000 ? INT16 : INT32);

/**
 * Narrows a[0, n) into `narrow` and returns the width of its run: the narrowest integer type
 * that holds every element, or FLOAT64 (and `narrow` partly written) when one is not an int32
 * or is -0.
 */
function narrowed(a: Float64Array, n: number): number {
  if (narrow.length < n) {
    narrow = new Int32Array(Math.max(n, narrow.length * 2));
    narrowTo = new Int16Array(narrow.length);
  }
  const out = narrow;
  let min = 0;
  let max = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = x | 0;
    if (y !== x || (y === 0 && 1 / x < 0)) return FLOAT64;
    out[i] = y;
    if (y < min) min = y;
    if (y > max) max = y;
  }
  return widthOf(min, max);
}

function writeRun(pos: number, a: Float64Array, n: number): number {
  const width = narrowed(a, n);
  const out = space.buf;
  const view = space.view;
  out[pos] = BIN32;
  view.setUint32(pos + 1, 1 + n * width);
  out[pos + BIN32_HEADER] = width;
  pos += RUN_HEADER;
  const bytes = n * width;
  if (width === FLOAT64) out.set(new Uint8Array(a.buffer, a.byteOffset, bytes), pos);
  else if (width === INT32) out.set(new Uint8Array(narrow.buffer, 0, bytes), pos);
  else {
    // TypedArray.set between element types converts (here: truncates to the width that holds them all).
    const view = width === INT8 ? new Int8Array(narrowTo.buffer, 0, n) : new Int16Array(narrowTo.buffer, 0, n);
    view.set(narrow.subarray(0, n));
    out.set(new Uint8Array(narrowTo.buffer, 0, bytes), pos);
  }
  return pos + bytes;
}

/**
 * One key group's number-run chunk: keys[ref] and values[ref] (the same length) per table, and
 * in a delta deleted[ref]. The bytes are a view that stays as it is (chunk-space.ts), not
 * transferable.
 */
export function encodeNumberRuns(
  keyGroup: number,
  tables: [string, StateKind][],
  keys: Float64Array[],
  values: Float64Array[],
  deleted?: Float64Array[],
): Uint8Array {
  const head = packr.pack([NUMBER_RUNS_VERSION, keyGroup, tables]);
  let bound = head.length + 10 + RUN_HEADER * 3 * tables.length;
  for (let ref = 0; ref < tables.length; ref++) bound += (keys[ref].length + values[ref].length + (deleted?.[ref].length ?? 0)) * FLOAT64;
  const start = space.reserve(bound);
  space.buf.set(head, start);
  space.buf[start] = deleted === undefined ? 0x94 : 0x95; // [version, kg, tables] plus the runs (and deletions)
  let pos = writeArrayHeader(space.buf, space.view, start + head.length, tables.length * 2);
  for (let ref = 0; ref < tables.length; ref++) {
    pos = writeRun(pos, keys[ref], keys[ref].length);
    pos = writeRun(pos, values[ref], values[ref].length);
  }
  if (deleted !== undefined) {
    pos = writeArrayHeader(space.buf, space.view, pos, tables.length);
    for (let ref = 0; ref < tables.length; ref++) pos = writeRun(pos, deleted[ref], deleted[ref].length);
  }
  return space.take(pos);
}

/** A run's numbers (copied out: a run's bytes need not be aligned), or a reason it is malformed. */
function readRun(run: unknown): Int8Array | Int16Array | Int32Array | Float64Array | string {
  if (!(run instanceof Uint8Array) || run.byteLength < 1) return 'a run that is not binary';
  const width = run[0];
  const count = (run.byteLength - 1) / width;
  if (![INT8, INT16, INT32, FLOAT64].includes(width) || !Number.isInteger(count))
    return `a run of width ${width} and ${run.byteLength - 1} bytes`;
  const out =
    width === INT8
      ? new Int8Array(count)
      : width === INT16
        ? new Int16Array(count)
        : width === INT32
          ? new Int32Array(count)
          : new Float64Array(count);
  new Uint8Array(out.buffer).set(run.subarray(1));
  return out;
}

/**
 * The entries (flat triples) and deletions (flat pairs) of a decoded number-run chunk's runs, as
 * a version-1 chunk holds them; or a reason the runs are malformed. `tables` is checked already.
 */
export function entriesOfRuns(
  tables: readonly [string, StateKind][],
  runs: unknown,
  deletedRuns: unknown,
): { entries: number[]; deletions: number[] | undefined } | string {
  if (tables.some(([, kind]) => kind === 'map')) return 'map state in a number-run chunk';
  if (!Array.isArray(runs) || runs.length !== tables.length * 2) return 'a run list that does not match its tables';
  const entries: number[] = [];
  for (let ref = 0; ref < tables.length; ref++) {
    const keys = readRun(runs[2 * ref]);
    const values = readRun(runs[2 * ref + 1]);
    if (typeof keys === 'string') return keys;
    if (typeof values === 'string') return values;
    if (keys.length !== values.length) return `${keys.length} keys and ${values.length} values in table ${ref}`;
    for (let i = 0; i < keys.length; i++) entries.push(ref, keys[i], values[i]);
  }
  if (deletedRuns === undefined) return { entries, deletions: undefined };
  if (!Array.isArray(deletedRuns) || deletedRuns.length !== tables.length) return 'a deletion list that does not match its tables';
  const deletions: number[] = [];
  for (let ref = 0; ref < tables.length; ref++) {
    const keys = readRun(deletedRuns[ref]);
    if (typeof keys === 'string') return keys;
    for (let i = 0; i < keys.length; i++) deletions.push(ref, keys[i]);
  }
  return { entries, deletions };
}
