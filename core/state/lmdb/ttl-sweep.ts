/**
 * The TTL sweep of one key group of the LMDB store: expired values leave the cache, and those
 * only in LMDB are cached as removed and changed, so the next write-back removes them there.
 * Runs on a timer, off the record path; values in LMDB are decoded only here.
 */
import type { RootDatabase } from 'lmdb';
import { entryMapOf } from '../keyed-store.js';
import { liveValue } from '../ttl.js';
import type { CaptureScope } from './barrier-capture.js';
import { decodeKey, tablePrefix } from './key-codec.js';
import { ABSENT } from './slot-cache.js';
import { decodeValue } from './value-codec.js';

export function sweepGroup(scope: CaptureScope, env: RootDatabase<Buffer, Buffer>, gi: number, now: number): void {
  const c = scope.cache;
  const kg = scope.rangeStart + gi;
  scope.tables.forEach((t, id) => {
    if (!scope.ttlTables[id]) return;
    const changed: [unknown, unknown][] = [];
    c.groups[gi].forEach((k, s) => {
      const v = c.values[id][s];
      if (v === ABSENT || v === undefined) return;
      const stored = t.kind === 'map' ? [...(v as Map<unknown, unknown>).values()] : v;
      const live = liveValue(t.kind, stored, now);
      if (live === undefined) changed.push([k, ABSENT]);
      else if (live !== stored) changed.push([k, entryMapOf(live as [unknown, unknown][])]);
    });
    // Values only in LMDB (or not read into the cache yet).
    const range = env.getRange({ start: tablePrefix(kg, id), end: tablePrefix(kg, id + 1) });
    for (const { key, value } of range as Iterable<{ key: Buffer; value: Buffer }>) {
      const { stored } = decodeKey(key);
      const s = c.find(gi, stored);
      if (s >= 0 && c.values[id][s] !== undefined) continue;
      const v = decodeValue(value);
      const live = liveValue(t.kind, v, now);
      if (live !== v)
        changed.push([stored, live === undefined ? ABSENT : t.kind === 'map' ? entryMapOf(live as [unknown, unknown][]) : live]);
    }
    // ABSENT, or what is left of a map, in the key's slot, changed.
    for (const [k, v] of changed) {
      let s = c.find(gi, k);
      if (s < 0) s = c.insert(gi, k);
      c.setValue(id, s, v);
      c.markDirty(id, s);
    }
  });
}
