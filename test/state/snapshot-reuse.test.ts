// test-lane: pair
/**
 * Heap snapshots packed on the record loop reuse their memory from one checkpoint to the next
 * (core/state/heap/encode-arena.ts, output-pool.ts): the key groups are encoded into one arena
 * and the snapshot's bytes go into a pooled buffer given back once they are written. Reused
 * memory must never change a snapshot still held: list state of bid-like records (megabytes per
 * checkpoint, few enough keys to pack on the loop), incremental checkpoints some confirmed and
 * some declined, writes between barrier and capture, a second store snapshotting at the same
 * time, and a failure injected after each checkpoint (a fresh store restores the last confirmed
 * chain): every restore must equal the lists an in-test model held at that barrier.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { HeapKeyedStore } from '../../core/state/heap/heap-keyed-store.js';
import { encodeArenaBytes } from '../../core/state/heap/encode-arena.js';
import { POOLED_OUTPUT_MIN_BYTES } from '../../core/state/heap/output-pool.js';
import { keyGroupFor } from '../../core/state/key-groups.js';
import { ListStateHandle } from '../../core/state/keyed-state.js';
import { restoreKeyedChains, type KeyedSnapshot } from '../../core/state/snapshot.js';
import { prng } from '../helpers/prng.js';
import type { Bid } from '../../core/connectors/sources/nexmark/model.js';

const MAXP = 32;
const KEYS = 2_000;

type Lists = Map<number, Bid[]>;

function bid(rand: () => number, auction: number): Bid {
  const word = (n: number) => Array.from({ length: n }, () => String.fromCharCode(97 + Math.floor(rand() * 26))).join('');
  return {
    auction,
    bidder: Math.floor(rand() * 1e6),
    price: Math.floor(rand() * 1e7),
    channel: word(6),
    url: `https://www.nexmark.com/${word(3)}/${word(3)}/item.htm?query=1`,
    dateTime: 1_436_918_400_000 + Math.floor(rand() * 1e6),
    extra: word(40 + Math.floor(rand() * 40)),
  };
}

function readLists(store: HeapKeyedStore): Lists {
  const h = new ListStateHandle<Bid>(store, store.register('bids', 'list'));
  const out: Lists = new Map();
  for (let k = 0; k < KEYS; k++) {
    store.setCurrentKey(k, keyGroupFor(k, MAXP));
    const l = h.get();
    if (l.length > 0) out.set(k, [...l]);
  }
  return out;
}

const copyOf = (m: Lists): Lists => new Map([...m].map(([k, xs]) => [k, xs.slice()]));

/** What a restarted task holds: a fresh store restored from `chain`. */
function restored(chain: KeyedSnapshot[]): Lists {
  const fresh = new HeapKeyedStore(0, MAXP - 1);
  restoreKeyedChains(fresh, [chain]);
  return readLists(fresh);
}

/** One store with its model, appending `perRound` bids between checkpoints. */
class Subject {
  readonly store = new HeapKeyedStore(0, MAXP - 1);
  readonly list = new ListStateHandle<Bid>(this.store, this.store.register('bids', 'list'));
  readonly changes = this.store.trackChanges();
  readonly model: Lists = new Map();
  confirmed: KeyedSnapshot[] = [];
  /** The model at the last confirmed barrier. */
  confirmedModel: Lists = new Map();

  constructor(private readonly rand: () => number) {}

  append(n: number): void {
    for (let i = 0; i < n; i++) {
      const k = Math.floor(this.rand() * KEYS);
      this.store.setCurrentKey(k, keyGroupFor(k, MAXP));
      const b = bid(this.rand, k);
      this.list.add(b);
      const l = this.model.get(k);
      if (l) l.push(b);
      else this.model.set(k, [b]);
    }
  }
}

describe('heap snapshots packed on the loop reuse their memory across checkpoints', () => {
  it('a restore after each injected failure equals the model at the last confirmed barrier; a held snapshot never changes', async () => {
    const rand = prng(7);
    const a = new Subject(rand);
    const b = new Subject(rand);
    /** Snapshots written but not yet released (the writer thread still reads them), with a copy of their bytes at capture. */
    const held: { snap: KeyedSnapshot; bytes: Uint8Array }[] = [];
    let reused = 0;
    const seenBuffers = new Set<ArrayBufferLike>();
    for (let id = 1; id <= 8; id++) {
      a.append(8_000);
      b.append(300);
      const full = a.confirmed.length === 0;
      const cutA = a.changes.cut(id);
      const expectA = copyOf(a.model);
      // Two keyed operators of one task: A's snapshot is part captured (into the arena) when
      // B's begins, which must not write over A's chunks. Writes go on between barrier and
      // capture (copy on write per key group).
      const jobA = a.store.snapshot(id, full ? undefined : cutA);
      const doneA = jobA.run();
      for (let w = 0; w < 3; w++) {
        b.append(5);
        await turn();
      }
      const cutB = b.changes.cut(id);
      const expectB = copyOf(b.model);
      const jobB = b.store.snapshot(id, b.confirmed.length === 0 ? undefined : cutB);
      const doneB = jobB.run();
      for (let w = 0; w < 20; w++) {
        a.append(20);
        b.append(5);
        await turn();
      }
      const [snapA, snapB] = await Promise.all([doneA, doneB]);
      assert.ok(snapA.data.byteLength >= POOLED_OUTPUT_MIN_BYTES, `checkpoint ${id}: big enough to pool (${snapA.data.byteLength} bytes)`);
      if (seenBuffers.has(snapA.data.buffer)) reused++;
      seenBuffers.add(snapA.data.buffer);
      // What the checkpoint's files hold: the bytes as they were written (a released buffer is reused).
      const fileA: KeyedSnapshot = { ...snapA, data: snapA.data.slice(), release: undefined };
      const fileB: KeyedSnapshot = { ...snapB, data: snapB.data.slice(), release: undefined };
      held.push({ snap: snapA, bytes: fileA.data }, { snap: snapB, bytes: fileB.data });
      // The oldest held snapshots are written now (released); the newest stay held into the next round.
      while (held.length > 2) {
        const h = held.shift()!;
        assert.deepEqual(h.snap.data, h.bytes, `checkpoint ${id}: a held snapshot's bytes did not change while later ones were taken`);
        h.snap.release?.();
      }
      // Confirmed, or declined (the next delta stays based on the older chain).
      const confirm = id % 3 !== 2;
      for (const [s, snap, expect] of [
        [a, fileA, expectA],
        [b, fileB, expectB],
      ] as const) {
        const chain = s.confirmed.length === 0 ? [snap] : [...s.confirmed, snap];
        if (confirm) {
          s.changes.confirm(id);
          s.confirmed = chain;
          s.confirmedModel = expect;
        }
        // The failure: the task restarts from the last confirmed checkpoint.
        assert.deepEqual(
          restored(s.confirmed),
          s.confirmedModel,
          `checkpoint ${id}${confirm ? '' : ' (declined)'}: restore after a failure`,
        );
      }
    }
    assert.ok(encodeArenaBytes() >= POOLED_OUTPUT_MIN_BYTES, `the loop's snapshots encoded into an arena (${encodeArenaBytes()} bytes)`);
    assert.ok(reused >= 3, `released output buffers were reused (${reused} of 8 checkpoints)`);
  });
});
