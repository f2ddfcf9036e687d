/**
 * The versions of a heap store's numeric tables (numeric-slots.ts) and the snapshot reading
 * them. Every write stamps its slot with `version`; a barrier takes `snapV = ++version`, so the
 * barrier-time state is every slot stamped below snapV, and a delta since a base version B is
 * every slot stamped in [B, snapV). While the packer reads a snapshot (`active = snapV`), the
 * first write to a slot stamped below it appends a pre-image (pre-image-log.ts).
 */
import { EddyError } from '../../failure.js';
import { L_CAPACITY, L_DONE, L_LENGTH, preImageBuffer, preImageViews, type PreImageViews } from './pre-image-log.js';

/** How long the loop waits for the packer to finish reading a snapshot before failing. */
export const SCAN_WAIT_MS = 60_000;
const MIN_LOG_ENTRIES = 1 << 12;

export class VersionClock {
  /** Writes stamp this version; starts at 1 (stamp 0 is an empty slot). */
  version = 1;
  /** The version of the snapshot being read now, or 0: writes to slots stamped below it pre-image first. */
  active = 0;
  /** Tombstones stamped at or after this are kept by a rehash (a delta may still need them). */
  keepTombstonesFrom = Number.POSITIVE_INFINITY;
  /** The last confirmed checkpoint's snapshot version: the base of the next delta. */
  confirmedVersion = 0;
  /** Snapshot versions of checkpoints cut and not yet confirmed, oldest first (only while deltas are tracked). */
  private readonly pending: { id: number; snapV: number }[] = [];
  private tracking = false;
  private log: PreImageViews | undefined;
  private logBuffer: SharedArrayBuffer | undefined;
  private length = 0;
  /** Pre-images appended, and writes that found the packer done reading (tests: the reads really overlapped the writes). */
  preImages = 0;
  writesAfterScan = 0;

  /**
   * At a barrier: the snapshot version, and the pre-image log the packer will read (sized for
   * `entries`). A snapshot still being read is waited for first: one log, one reader.
   */
  beginSnapshot(entries: number, concurrent: boolean): { snapV: number; log: SharedArrayBuffer | undefined } {
    this.waitForScan();
    // Read on this thread right now: nothing writes meanwhile, no pre-images.
    if (!concurrent) return { snapV: ++this.version, log: undefined };
    let cap = MIN_LOG_ENTRIES;
    while (cap < entries / 4) cap *= 2;
    if (this.logBuffer === undefined || this.log!.header[L_CAPACITY] < cap) {
      this.logBuffer = preImageBuffer(cap);
      this.log = preImageViews(this.logBuffer);
    }
    Atomics.store(this.log!.header, L_LENGTH, 0);
    Atomics.store(this.log!.header, L_DONE, 0);
    this.length = 0;
    const snapV = ++this.version;
    this.active = snapV;
    return { snapV, log: this.logBuffer };
  }

  /** Deltas are asked for from now on: tombstones are kept until a confirmed checkpoint has them. */
  trackDeltas(): void {
    this.tracking = true;
    this.keepTombstonesFrom = this.confirmedVersion;
  }

  /** Checkpoint `id` took snapshot version `snapV`. */
  cut(id: number, snapV: number): void {
    if (this.tracking) this.pending.push({ id, snapV });
  }

  /** Checkpoint `id` is confirmed: the next delta's base moves to its version (as ../change-log.ts moves its generations). */
  confirm(id: number): void {
    let snapV: number | undefined;
    while (this.pending.length > 0 && this.pending[0].id <= id) snapV = this.pending.shift()!.snapV;
    if (snapV === undefined) return;
    this.confirmedVersion = snapV;
    this.keepTombstonesFrom = snapV;
  }

  /** After a restore: the restored entries are the base of the next delta. */
  restored(): void {
    this.pending.length = 0;
    this.confirmedVersion = ++this.version;
    if (this.tracking) this.keepTombstonesFrom = this.confirmedVersion;
  }

  /** Snapshot `snapV` is packed, or its reader is gone: no more pre-images for it. */
  endSnapshot(snapV: number, abandoned: boolean): void {
    if (this.active !== snapV) return;
    this.active = 0;
    // A reader that died may never set L_DONE: the next snapshot takes a fresh log.
    if (abandoned) this.logBuffer = this.log = undefined;
  }

  /** Before the first write after the barrier to an entry stamped `stamp`. */
  preImage(id: number, key: number, value: number, stamp: number): void {
    const log = this.log!;
    if (Atomics.load(log.header, L_DONE) === 1) {
      this.active = 0;
      this.writesAfterScan++;
      return;
    }
    const n = this.length;
    if (n === log.keys.length) {
      // Full: the packer is still scanning; once it is done no pre-image is needed.
      this.waitForScan();
      return;
    }
    log.keys[n] = key;
    log.values[n] = value;
    log.ids[n] = id;
    log.stamps[n] = stamp;
    this.length = n + 1;
    this.preImages++;
    Atomics.store(log.header, L_LENGTH, n + 1);
    // An Atomics load after the store: the caller's plain write of the new value may not be
    // seen before the length on a weakly ordered CPU (a release store does not hold back later
    // stores; a load after it does, and the load holds back what follows).
    Atomics.load(log.header, L_DONE);
  }

  /** Blocks until the packer has read the running snapshot (at most SCAN_WAIT_MS). */
  private waitForScan(): void {
    if (this.active === 0 || this.log === undefined) return;
    const deadline = Date.now() + SCAN_WAIT_MS;
    while (Atomics.load(this.log.header, L_DONE) === 0) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new EddyError(
          'STATE_FAILED',
          `the snapshot packer thread did not finish reading numeric state within ${SCAN_WAIT_MS / 1000} s; the checkpoint cannot complete, restart from the last one`,
        );
      Atomics.wait(this.log.header, L_DONE, 0, left);
    }
    this.active = 0;
  }
}
