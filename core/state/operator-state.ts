/**
 * Operator (non-keyed) state of one operator instance: named lists that are either split
 * round-robin or unioned when restored at another parallelism, and broadcast maps that are
 * the same on every subtask.
 */
import type { MapState, OperatorListState } from '../contract/state.js';
import { EddyError } from '../failure.js';

export type ListRedistribution = 'split' | 'union';

class OperatorList<T> implements OperatorListState<T> {
  items: T[] = [];
  constructor(readonly mode: ListRedistribution) {}
  get(): T[] {
    return this.items;
  }
  add(value: T): void {
    this.items.push(value);
  }
  update(values: readonly T[]): void {
    this.items = values.slice();
  }
  clear(): void {
    this.items = [];
  }
}

class BroadcastMap<K, V> implements MapState<K, V> {
  readonly m = new Map<K, V>();
  get(key: K): V | undefined {
    return this.m.get(key);
  }
  put(key: K, value: V): void {
    this.m.set(key, value);
  }
  putAll(entries: Iterable<[K, V]>): void {
    for (const [k, v] of entries) this.m.set(k, v);
  }
  remove(key: K): void {
    this.m.delete(key);
  }
  contains(key: K): boolean {
    return this.m.has(key);
  }
  keys(): K[] {
    return [...this.m.keys()];
  }
  values(): V[] {
    return [...this.m.values()];
  }
  entries(): [K, V][] {
    return [...this.m.entries()];
  }
  isEmpty(): boolean {
    return this.m.size === 0;
  }
  clear(): void {
    this.m.clear();
  }
}

export class OperatorStateStore {
  readonly lists = new Map<string, OperatorList<unknown>>();
  readonly broadcasts = new Map<string, BroadcastMap<unknown, unknown>>();

  list<T>(name: string, mode: ListRedistribution): OperatorListState<T> {
    let l = this.lists.get(name);
    if (!l) {
      l = new OperatorList(mode);
      this.lists.set(name, l);
    } else if (l.mode !== mode) {
      throw new EddyError(
        'STATE_FAILED',
        `operator state '${name}' is a ${l.mode === 'union' ? 'union list' : 'list'}; it cannot also be used as a ${mode === 'union' ? 'union list' : 'list'}`,
      );
    }
    return l as OperatorList<T>;
  }

  broadcast<K, V>(name: string): MapState<K, V> {
    let b = this.broadcasts.get(name);
    if (!b) {
      b = new BroadcastMap();
      this.broadcasts.set(name, b);
    }
    return b as unknown as MapState<K, V>;
  }
}
