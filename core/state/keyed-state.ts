/**
 * The state handles user functions get from `ctx.state`: each is a thin view over a
 * KeyedStateStore table for the current key. Handles are created once per (operator, name)
 * and cached, so `ctx.state.value('count')` inside a per-record function allocates nothing.
 */
import type { AggregateFunction, AggregatingState, ListState, MapState, ReducingState, ValueState } from '../contract/state.js';
import type { KeyedStateStore } from './keyed-store.js';

export class ValueStateHandle<T> implements ValueState<T> {
  constructor(
    private readonly s: KeyedStateStore,
    private readonly t: number,
  ) {}
  value(): T | undefined {
    return this.s.get(this.t) as T | undefined;
  }
  update(value: T): void {
    if (value === undefined) this.s.remove(this.t);
    else this.s.put(this.t, value);
  }
  clear(): void {
    this.s.remove(this.t);
  }
}

export class ListStateHandle<T> implements ListState<T> {
  constructor(
    private readonly s: KeyedStateStore,
    private readonly t: number,
  ) {}
  get(): T[] {
    return (this.s.get(this.t) as T[] | undefined) ?? [];
  }
  add(value: T): void {
    // Told as an append: an incremental heap snapshot then holds only the appended elements.
    this.s.appendTo(this.t, value);
  }
  addAll(values: readonly T[]): void {
    for (const v of values) this.s.appendTo(this.t, v);
  }
  update(values: readonly T[]): void {
    if (values.length === 0) this.s.remove(this.t);
    else this.s.put(this.t, values.slice());
  }
  clear(): void {
    this.s.remove(this.t);
  }
}

export class MapStateHandle<K, V> implements MapState<K, V> {
  constructor(
    private readonly s: KeyedStateStore,
    private readonly t: number,
  ) {}
  get(key: K): V | undefined {
    const e = this.s.getEntry(this.t, key) as [K, V] | undefined;
    return e === undefined ? undefined : e[1];
  }
  put(key: K, value: V): void {
    this.s.putEntry(this.t, key, value);
  }
  putAll(entries: Iterable<[K, V]>): void {
    for (const [k, v] of entries) this.s.putEntry(this.t, k, v);
  }
  remove(key: K): void {
    this.s.removeEntry(this.t, key);
  }
  contains(key: K): boolean {
    return this.s.hasEntry(this.t, key);
  }
  keys(): K[] {
    return this.s.entries(this.t).map((e) => e[0] as K);
  }
  values(): V[] {
    return this.s.entries(this.t).map((e) => e[1] as V);
  }
  entries(): [K, V][] {
    return this.s.entries(this.t) as [K, V][];
  }
  isEmpty(): boolean {
    return this.s.entries(this.t).length === 0;
  }
  clear(): void {
    this.s.clearEntries(this.t);
  }
}

export class ReducingStateHandle<T> implements ReducingState<T> {
  constructor(
    private readonly s: KeyedStateStore,
    private readonly t: number,
    private readonly reduce: (a: T, b: T) => T,
  ) {}
  get(): T | undefined {
    return this.s.get(this.t) as T | undefined;
  }
  add(value: T): void {
    const cur = this.s.get(this.t) as T | undefined;
    this.s.put(this.t, cur === undefined ? value : this.reduce(cur, value));
  }
  clear(): void {
    this.s.remove(this.t);
  }
}

export class AggregatingStateHandle<IN, ACC, OUT> implements AggregatingState<IN, OUT> {
  constructor(
    private readonly s: KeyedStateStore,
    private readonly t: number,
    private readonly fn: AggregateFunction<IN, ACC, OUT>,
  ) {}
  get(): OUT | undefined {
    const acc = this.s.get(this.t) as ACC | undefined;
    return acc === undefined ? undefined : this.fn.getResult(acc);
  }
  add(value: IN): void {
    const acc = this.s.get(this.t) as ACC | undefined;
    this.s.put(this.t, this.fn.add(value, acc === undefined ? this.fn.createAccumulator() : acc));
  }
  clear(): void {
    this.s.remove(this.t);
  }
}
