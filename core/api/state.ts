/** Keyed and operator state as user functions see it through `ctx.state`. */

export interface StateTtlConfig {
  /** Time to live in milliseconds. */
  ttlMs: number;
  /** When the timestamp is refreshed: on create and write (default) or also on read. */
  update?: 'onCreateAndWrite' | 'onReadAndWrite';
}

export interface StateOptions {
  ttl?: StateTtlConfig;
}

export interface ValueState<T> {
  value(): T | undefined;
  update(value: T): void;
  clear(): void;
}

export interface ListState<T> {
  get(): T[];
  add(value: T): void;
  addAll(values: readonly T[]): void;
  update(values: readonly T[]): void;
  clear(): void;
}

export interface MapState<K, V> {
  get(key: K): V | undefined;
  put(key: K, value: V): void;
  putAll(entries: Iterable<[K, V]>): void;
  remove(key: K): void;
  contains(key: K): boolean;
  keys(): K[];
  values(): V[];
  entries(): [K, V][];
  isEmpty(): boolean;
  clear(): void;
}

export interface ReducingState<T> {
  get(): T | undefined;
  add(value: T): void;
  clear(): void;
}

export interface AggregateFunction<IN, ACC, OUT> {
  createAccumulator(): ACC;
  add(value: IN, acc: ACC): ACC;
  getResult(acc: ACC): OUT;
  merge?(a: ACC, b: ACC): ACC;
}

export interface AggregatingState<IN, OUT> {
  get(): OUT | undefined;
  add(value: IN): void;
  clear(): void;
}

/** Operator (non-keyed) list state: each subtask's own list. */
export interface OperatorListState<T> {
  get(): T[];
  add(value: T): void;
  update(values: readonly T[]): void;
  clear(): void;
}

export interface StateAccessor {
  value<T>(name: string, options?: StateOptions): ValueState<T>;
  list<T>(name: string, options?: StateOptions): ListState<T>;
  map<K, V>(name: string, options?: StateOptions): MapState<K, V>;
  reducing<T>(name: string, reduce: (a: T, b: T) => T, options?: StateOptions): ReducingState<T>;
  aggregating<IN, ACC, OUT>(name: string, fn: AggregateFunction<IN, ACC, OUT>, options?: StateOptions): AggregatingState<IN, OUT>;
  /** Operator state redistributed round-robin on rescale. */
  operatorList<T>(name: string): OperatorListState<T>;
  /** Operator state of which every subtask gets the union of all lists on restore. */
  unionList<T>(name: string): OperatorListState<T>;
  /** Operator map state that is the same on every subtask (the broadcast state pattern). */
  broadcast<K, V>(name: string): MapState<K, V>;
}
