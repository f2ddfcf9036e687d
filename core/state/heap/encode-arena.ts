/**
 * Where a heap snapshot packed on the loop encodes its key groups: one buffer, reused from one
 * checkpoint to the next, instead of msgpackr's own, which moves to a fresh buffer each time one
 * fills (four times the message it did not fit), so a 25 MB delta was 25 MB of new memory per
 * checkpoint for the GC and for the kernel to fault in. The chunks are views into the buffer,
 * kept until the snapshot is packed (captured-group.ts copies them into its output), so one
 * snapshot at a time holds it, with a chunk packer of its own. Only plain chunks (written by
 * hand, ../plain-pack.ts) go into it: msgpackr's buffer is shared by every Packr on the thread
 * (the channel's codec too), so pointing it here let their messages land in the arena, to be
 * written over by the next snapshot. A snapshot that finds the arena held encodes as before. After a snapshot that outgrew it,
 * the next gets one the size of that snapshot's chunks, with headroom: it grows with the state.
 */
import { Buffer } from 'node:buffer';
import { ChunkPacker, encodeKeyGroupChunkWith, type KeyGroupChunk } from '../snapshot-format.js';
import { OUTPUT_HEADROOM, POOLED_OUTPUT_MIN_BYTES } from './output-pool.js';

/** The most a thread keeps (like the in-flight arena's bound): beyond, snapshots encode as before. */
export const ENCODE_ARENA_MAX_BYTES = 64 << 20;
/**
 * Beyond the chunks' bytes: msgpackr aligns each message to 8 bytes, starts none within 2 KiB
 * of the end, and wants room for three bytes per character of a string before writing it.
 */
const ARENA_SLACK_BYTES = 1 << 16;

const packer = new ChunkPacker();
let arena: Buffer | undefined;
let held = false;

/** One snapshot's hold on the arena. */
export interface ArenaEncoder {
  /** The chunk as a view into the arena (or where msgpackr went when it did not fit). */
  encode(keyGroup: number, chunk: KeyGroupChunk): Uint8Array;
  /** The chunks are copied out (or dropped): the next snapshot may write over them. */
  letGo(): void;
}

/** The arena for one snapshot, or undefined while another holds it. */
export function holdEncodeArena(): ArenaEncoder | undefined {
  if (held) return undefined;
  held = true;
  // From the start of the arena: the last holder's chunks were copied out before it let go.
  if (arena !== undefined) packer.useBuffer(arena);
  let bytes = 0;
  let holding = true;
  return {
    encode(keyGroup, chunk) {
      const b = encodeKeyGroupChunkWith(packer, keyGroup, chunk);
      bytes += b.byteLength;
      return b;
    },
    letGo() {
      if (!holding) return;
      holding = false;
      held = false;
      const want = Math.ceil(bytes * OUTPUT_HEADROOM) + ARENA_SLACK_BYTES;
      if (bytes >= POOLED_OUTPUT_MIN_BYTES && want <= ENCODE_ARENA_MAX_BYTES && (arena?.byteLength ?? 0) < bytes + ARENA_SLACK_BYTES)
        arena = Buffer.allocUnsafeSlow(want);
    },
  };
}

/** The arena's size now (0: none yet), for tests. */
export function encodeArenaBytes(): number {
  return arena?.byteLength ?? 0;
}
