/**
 * A keyed-state chunk written by hand when it holds only plain data, byte for byte as the chunk
 * packr (msgpackr, `useRecords`, record definitions inline: ./snapshot-format.ts) writes it, so
 * the format and every reader are unchanged:
 *
 *   null c0 · false c2 · true c3 · number: fixint 00-3f (40-7f are record ids), cc/cd/ce uint,
 *   e0-ff/d0/d1/d2 int, cb float64 · string: a0|n, d9 n, da nn, db nnnn + UTF-8 ·
 *   array: 90|n, dc nn, dd nnnn + items ·
 *   object: its shape's first use  d4 72 id [key, …]  then the values in key order;
 *           later uses             id                 then the values       (id 40-7f, per message)
 *
 * Why: a heap snapshot's list and value state is mostly records of one shape (q20's waiting
 * bids), and msgpackr pays per value a dispatch over every type it knows and per object two
 * walks of its keys. Here an object is walked once, against the shape its last sibling had.
 * Anything else (undefined, BigInt, Date, Map, Set, typed arrays, class instances, objects
 * without Object.prototype, a 65th shape in one message) is msgpackr's: `pack` returns
 * undefined and the caller encodes the message with msgpackr instead.
 */
import { Buffer } from 'node:buffer';
import { RECORDS_FIXINT_LIMIT, stringHeaderSize, writeArrayHeader, writeNumber, writeStringHeader } from '../msgpack-write.js';

/** Record ids are one byte from here: the positive fixints end below it (../msgpack-write.ts). */
const FIRST_RECORD_ID = RECORDS_FIXINT_LIMIT;
/** Record ids one byte long (msgpackr without two-byte records: 0x40-0x7f). */
const MAX_SHAPES = 64;
/** After a message that was not plain, this many go straight to msgpackr (state that is never plain pays its walk once in a while). */
const SKIP_AFTER_MISS = 31;

/** Node's own UTF-8 write (what msgpackr calls too): Buffer.write without its argument checks. */
type Block = Buffer & { utf8Write(s: string, at: number, max?: number): number };

/** Thrown (once per message at most) when a value is not plain; caught in pack. */
const NOT_PLAIN = new Error('not plain');

/**
 * Writes messages one after another into a block and leaves each as a view nobody writes again
 * (as msgpackr and ../state/chunk-space.ts do): a block without room is left to its views for a
 * new one. One thread, one message at a time.
 */
export class PlainPacker {
  private buf: Block;
  private view: DataView;
  private pos = 0;
  /** Where the message being written started. */
  private start = 0;
  /** This message's shapes: keys in for-in order; index + 0x40 = record id. */
  private shapes: string[][] = [];
  /** The shape the last object had (siblings in a list mostly share it). */
  private last: string[] | undefined;
  private lastId = 0;
  private skip = 0;

  constructor(private readonly blockBytes = 1 << 20) {
    this.buf = Buffer.allocUnsafeSlow(blockBytes) as Block;
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Writes from here on into `buf` (from its start), then into new blocks once it is full. */
  useBuffer(buf: Buffer): void {
    this.buf = buf as Block;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = 0;
  }

  /** `value` as one message (a view, valid while held), or undefined when it is not plain data (nothing kept). */
  pack(value: unknown): Uint8Array | undefined {
    if (this.skip > 0) {
      this.skip--;
      return undefined;
    }
    this.start = this.pos;
    this.shapes.length = 0;
    this.last = undefined;
    try {
      this.write(value);
    } catch (err) {
      if (err !== NOT_PLAIN) throw err;
      this.pos = this.start;
      this.skip = SKIP_AFTER_MISS;
      return undefined;
    }
    return this.buf.subarray(this.start, this.pos);
  }

  /** Room for `n` more bytes; a full block leaves the message so far for a new one. */
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const sofar = this.pos - this.start;
    const next = Buffer.allocUnsafeSlow(Math.max(this.blockBytes, 2 * (sofar + n))) as Block;
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
    this.start = 0;
    this.pos = sofar;
  }

  private write(v: unknown): void {
    switch (typeof v) {
      case 'string':
        return this.writeString(v);
      case 'number':
        this.room(9);
        this.pos = writeNumber(this.buf, this.view, this.pos, v);
        return;
      case 'boolean':
        this.room(1);
        this.buf[this.pos++] = v ? 0xc3 : 0xc2;
        return;
      case 'object':
        if (v === null) {
          this.room(1);
          this.buf[this.pos++] = 0xc0;
          return;
        }
        if (Array.isArray(v)) return this.writeArray(v);
        if (Object.getPrototypeOf(v) === Object.prototype) return this.writeObject(v as Record<string, unknown>);
    }
    throw NOT_PLAIN;
  }

  private writeString(s: string): void {
    const n = s.length;
    this.room(5 + 3 * n);
    const buf = this.buf;
    let pos = this.pos;
    if (n < 0x20) {
      this.pos = this.finishString(pos, 1, this.writeUtf8Js(s, pos + 1));
      return;
    }
    // Longer ones natively, after room for the largest header they can need. msgpackr writes
    // strings under 64 characters in JS, which keeps a lone surrogate (3 bytes) where Node
    // writes U+FFFD: not ASCII there, so written again as msgpackr does.
    const max = 3 * n;
    const room = max < 0x100 ? 2 : max < 0x10000 ? 3 : 5;
    let len = buf.utf8Write(s, pos + room);
    if (n < 0x40 && len !== n) len = this.writeUtf8Js(s, pos + room);
    this.pos = this.finishString(pos, room, len);
  }

  /** `s` in UTF-8 at `at` as msgpackr's loop writes it (lone surrogates as 3 bytes); returns the length. */
  private writeUtf8Js(s: string, at: number): number {
    const buf = this.buf;
    let p = at;
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) buf[p++] = c;
      else if (c < 0x800) {
        buf[p++] = (c >> 6) | 0xc0;
        buf[p++] = (c & 0x3f) | 0x80;
      } else if ((c & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c & 0x03ff) << 10) + (s.charCodeAt(++i) & 0x03ff);
        buf[p++] = (c >> 18) | 0xf0;
        buf[p++] = ((c >> 12) & 0x3f) | 0x80;
        buf[p++] = ((c >> 6) & 0x3f) | 0x80;
        buf[p++] = (c & 0x3f) | 0x80;
      } else {
        buf[p++] = (c >> 12) | 0xe0;
        buf[p++] = ((c >> 6) & 0x3f) | 0x80;
        buf[p++] = (c & 0x3f) | 0x80;
      }
    }
    return p - at;
  }

  /**
   * The header of a string of `len` bytes written at `pos + room`: its size follows from `len`,
   * known only once written, so the bytes move back when it is smaller than the room left.
   * Returns the next position.
   */
  private finishString(pos: number, room: number, len: number): number {
    const buf = this.buf;
    const head = stringHeaderSize(len);
    if (head !== room) buf.copyWithin(pos + head, pos + room, pos + room + len);
    writeStringHeader(buf, this.view, pos, len);
    return pos + head + len;
  }

  private writeArray(a: unknown[]): void {
    const n = a.length;
    this.room(5);
    this.pos = writeArrayHeader(this.buf, this.view, this.pos, n);
    for (let i = 0; i < n; i++) this.write(a[i]);
  }

  private writeObject(o: Record<string, unknown>): void {
    const shape = this.last;
    if (shape !== undefined) {
      // One walk: the keys checked against the last shape as the values are written; a
      // different shape rewinds (values and nested shapes written so far are dropped) and
      // takes the slow way.
      const id = this.lastId;
      const shapeCount = this.shapes.length;
      this.room(1);
      // From the message's start: a nested value may move the message to a new block.
      const at = this.pos - this.start;
      this.buf[this.pos++] = id;
      let k = 0;
      let same = true;
      for (const key in o) {
        if (shape[k++] !== key) {
          same = false;
          break;
        }
        this.write(o[key]);
      }
      // A nested object may have changed the last shape.
      this.last = shape;
      this.lastId = id;
      if (same && k === shape.length) return;
      this.pos = this.start + at;
      this.shapes.length = shapeCount;
    }
    this.writeShaped(o);
  }

  /** An object whose shape is not the last one: found among this message's, or defined here. */
  private writeShaped(o: Record<string, unknown>): void {
    const keys = Object.keys(o);
    let id = -1;
    for (let s = 0; s < this.shapes.length && id < 0; s++) if (sameKeys(this.shapes[s], keys)) id = s;
    this.room(3);
    if (id >= 0) this.buf[this.pos++] = FIRST_RECORD_ID + id;
    else {
      if (this.shapes.length === MAX_SHAPES) throw NOT_PLAIN;
      id = this.shapes.length;
      this.shapes.push(keys);
      this.buf[this.pos++] = 0xd4; // fixext 1
      this.buf[this.pos++] = 0x72; // msgpackr's record definition ('r')
      this.buf[this.pos++] = FIRST_RECORD_ID + id;
      this.writeArray(keys);
    }
    const shape = this.shapes[id];
    for (let k = 0; k < shape.length; k++) this.write(o[shape[k]]);
    this.last = shape;
    this.lastId = FIRST_RECORD_ID + id;
  }
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
