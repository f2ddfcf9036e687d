/**
 * State time-to-live, the same for every backend: a TTL state stores `[expiresAtMs, value]`
 * (map state: per entry), so snapshots carry the expiry in the canonical format and restore
 * keeps it. Reads never return an expired value (and drop it); snapshots leave expired values
 * out; backends sweep expired values in the background (see sweepExpired in each backend).
 * Time is processing time (Date.now), as Flink's TTL.
 */
import type { StateTtlConfig } from '../contract/state.js';
import { appendByPut, type KeyedStateStore, type StateKind } from './keyed-store.js';

export type Clock = () => number;

type Stamped = [expiresAt: number, value: unknown];

/**
 * What survives of a stored TTL value at `now`: the value itself, for map state the list of
 * entries not expired, or undefined when nothing does.
 */
export function liveValue(kind: StateKind, stored: unknown, now: number): unknown {
  if (kind !== 'map') return (stored as Stamped)[0] > now ? stored : undefined;
  const pairs = stored as [unknown, Stamped][];
  let live = pairs;
  for (let i = 0; i < pairs.length; i++) {
    if (pairs[i][1][0] <= now) {
      live = pairs.filter((p) => p[1][0] > now);
      break;
    }
  }
  return live.length === 0 ? undefined : live;
}

/**
 * A view of one TTL state over a backend: handles work on plain values through it, the
 * backend holds them stamped with their expiry.
 */
export class TtlStateView implements KeyedStateStore {
  private readonly ttlMs: number;
  private readonly refreshOnRead: boolean;

  constructor(
    private readonly base: KeyedStateStore,
    config: StateTtlConfig,
    private readonly clock: Clock = Date.now,
  ) {
    this.ttlMs = config.ttlMs;
    this.refreshOnRead = config.update === 'onReadAndWrite';
  }

  register(name: string, kind: StateKind): number {
    return this.base.register(name, kind);
  }
  setCurrentKey(key: unknown, keyGroup: number): void {
    this.base.setCurrentKey(key, keyGroup);
  }
  get currentKey(): unknown {
    return this.base.currentKey;
  }
  get currentKeyGroup(): number {
    return this.base.currentKeyGroup;
  }

  get(table: number): unknown {
    const s = this.base.get(table) as Stamped | undefined;
    if (s === undefined) return undefined;
    const now = this.clock();
    if (s[0] <= now) {
      this.base.remove(table);
      return undefined;
    }
    if (this.refreshOnRead) this.base.put(table, [now + this.ttlMs, s[1]]);
    return s[1];
  }
  put(table: number, value: unknown): void {
    this.base.put(table, [this.clock() + this.ttlMs, value]);
  }
  remove(table: number): void {
    this.base.remove(table);
  }
  // A TTL list is stored whole with its expiry: every change rewrites (and restamps) it.
  appendTo(table: number, value: unknown): void {
    appendByPut(this, table, value);
  }

  getEntry(table: number, userKey: unknown): unknown {
    const e = this.base.getEntry(table, userKey) as [unknown, Stamped] | undefined;
    if (e === undefined) return undefined;
    const now = this.clock();
    if (e[1][0] <= now) {
      this.base.removeEntry(table, userKey);
      return undefined;
    }
    if (this.refreshOnRead) this.base.putEntry(table, e[0], [now + this.ttlMs, e[1][1]]);
    return [e[0], e[1][1]];
  }
  putEntry(table: number, userKey: unknown, value: unknown): void {
    this.base.putEntry(table, userKey, [this.clock() + this.ttlMs, value]);
  }
  removeEntry(table: number, userKey: unknown): void {
    this.base.removeEntry(table, userKey);
  }
  hasEntry(table: number, userKey: unknown): boolean {
    return this.getEntry(table, userKey) !== undefined;
  }
  entries(table: number): [unknown, unknown][] {
    const now = this.clock();
    const out: [unknown, unknown][] = [];
    for (const [k, s] of this.base.entries(table) as [unknown, Stamped][]) {
      if (s[0] <= now) this.base.removeEntry(table, k);
      else {
        if (this.refreshOnRead) this.base.putEntry(table, k, [now + this.ttlMs, s[1]]);
        out.push([k, s[1]]);
      }
    }
    return out;
  }
  clearEntries(table: number): void {
    this.base.clearEntries(table);
  }
}
