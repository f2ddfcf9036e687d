/** Keyed and operator state as user functions see it through `ctx.state`. */

/** Time to live of keyed state entries (Flink's `StateTtlConfig`), in processing time. */
export interface StateTtlConfig {
  /** Time to live in milliseconds. */
  ttlMs: number;
  /** When the timestamp is refreshed: on create and write (default) or also on read. */
  update?: 'onCreateAndWrite' | 'onReadAndWrite';
}

/** Options of a keyed state, given with its name: `ctx.state.value('v', { ttl })`. */
export interface StateOptions {
  /** Entries expire this long after they were written (or read); an expired entry is never returned. */
  ttl?: StateTtlConfig;
}

/** One value per key (Flink's `ValueState`). */
export interface ValueState<T> {
  /** The current key's value, or undefined if none was set (or it expired). */
  value(): T | undefined;
  /** Sets the current key's value. A value mutated in place must be written back with update to be kept. */
  update(value: T): void;
  /** Removes the current key's value. */
  clear(): void;
}

/** A list per key (Flink's `ListState`). */
export interface ListState<T> {
  /** The current key's elements in insertion order (empty if none). An element changed in place must be written back with update to be kept. */
  get(): T[];
  /** Appends an element to the current key's list (an incremental checkpoint then holds only what was appended). */
  add(value: T): void;
  /** Appends every element of `values`. */
  addAll(values: readonly T[]): void;
  /** Replaces the current key's list with `values`. */
  update(values: readonly T[]): void;
  /** Removes the current key's list. */
  clear(): void;
}

/** A map per key (Flink's `MapState`); also the broadcast state, which is one map per operator. */
export interface MapState<K, V> {
  /** The value under `key` in the current key's map, or undefined. */
  get(key: K): V | undefined;
  /** Sets the value under `key`. */
  put(key: K, value: V): void;
  /** Sets every `[key, value]` pair. */
  putAll(entries: Iterable<[K, V]>): void;
  /** Removes the entry under `key`. */
  remove(key: K): void;
  /** True if the map has an entry under `key`. */
  contains(key: K): boolean;
  /** The map's keys. */
  keys(): K[];
  /** The map's values. */
  values(): V[];
  /** The map's `[key, value]` pairs. */
  entries(): [K, V][];
  /** True if the map has no entry. */
  isEmpty(): boolean;
  /** Removes every entry of the current key's map. */
  clear(): void;
}

/** A value per key that every added element is folded into with a reduce function (Flink's `ReducingState`). */
export interface ReducingState<T> {
  /** The reduced value of the current key, or undefined if nothing was added. */
  get(): T | undefined;
  /** Folds `value` into the current key's value: `reduce(current, value)`, or `value` when empty. */
  add(value: T): void;
  /** Removes the current key's value. */
  clear(): void;
}

/**
 * An incremental aggregation (Flink's `AggregateFunction`): elements are added into an
 * accumulator, and the result is read from it. Used by `aggregating` state and
 * `window(...).aggregate(fn)`.
 */
export interface AggregateFunction<IN, ACC, OUT> {
  /** A new, empty accumulator. */
  createAccumulator(): ACC;
  /** Adds an element to the accumulator and returns the accumulator (it may be the same object, changed). */
  add(value: IN, acc: ACC): ACC;
  /** The result of an accumulator. */
  getResult(acc: ACC): OUT;
  /** Two accumulators as one (needed by merging windows, such as session windows). */
  merge?(a: ACC, b: ACC): ACC;
}

/** A value per key that elements are aggregated into with an {@link AggregateFunction} (Flink's `AggregatingState`). */
export interface AggregatingState<IN, OUT> {
  /** The current key's result (`getResult` of its accumulator), or undefined if nothing was added. */
  get(): OUT | undefined;
  /** Adds `value` to the current key's accumulator. */
  add(value: IN): void;
  /** Removes the current key's accumulator. */
  clear(): void;
}

/** Operator (non-keyed) list state: each subtask's own list. */
export interface OperatorListState<T> {
  /** This subtask's elements. */
  get(): T[];
  /** Appends an element. */
  add(value: T): void;
  /** Replaces the list (typically in `snapshotState`). */
  update(values: readonly T[]): void;
  /** Empties the list. */
  clear(): void;
}

/**
 * State by name, as `ctx.state` (Flink's `getRuntimeContext().getState(descriptor)`): keyed
 * state (on a keyed stream; scoped to `ctx.currentKey`) and operator state. The same name gives
 * the same state; the operator needs a uid for its state to be checkpointed.
 */
export interface StateAccessor {
  /** Keyed {@link ValueState} by name. */
  value<T>(name: string, options?: StateOptions): ValueState<T>;
  /** Keyed {@link ListState} by name. */
  list<T>(name: string, options?: StateOptions): ListState<T>;
  /** Keyed {@link MapState} by name (TTL applies per map entry). */
  map<K, V>(name: string, options?: StateOptions): MapState<K, V>;
  /** Keyed {@link ReducingState} by name, folding with `reduce`. */
  reducing<T>(name: string, reduce: (a: T, b: T) => T, options?: StateOptions): ReducingState<T>;
  /** Keyed {@link AggregatingState} by name, aggregating with `fn`. */
  aggregating<IN, ACC, OUT>(name: string, fn: AggregateFunction<IN, ACC, OUT>, options?: StateOptions): AggregatingState<IN, OUT>;
  /** Operator state redistributed round-robin on rescale. */
  operatorList<T>(name: string): OperatorListState<T>;
  /** Operator state of which every subtask gets the union of all lists on restore. */
  unionList<T>(name: string): OperatorListState<T>;
  /** Operator map state that is the same on every subtask (the broadcast state pattern). */
  broadcast<K, V>(name: string): MapState<K, V>;
}
