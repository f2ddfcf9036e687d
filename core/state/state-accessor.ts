/**
 * `ctx.state` of one operator instance: hands out cached state handles by name, and enforces
 * the two rules that keep checkpoints restorable: keyed state only on a keyed stream, and any
 * state only in an operator with an explicit uid (state is matched to operators by uid).
 */
import type {
  AggregateFunction,
  AggregatingState,
  ListState,
  MapState,
  OperatorListState,
  ReducingState,
  StateAccessor,
  StateOptions,
  ValueState,
} from '../contract/state.js';
import { EddyError } from '../failure.js';
import type { KeyedBackend } from './keyed-backend.js';
import type { KeyedStateStore, StateKind } from './keyed-store.js';
import { TtlStateView } from './ttl.js';
import { AggregatingStateHandle, ListStateHandle, MapStateHandle, ReducingStateHandle, ValueStateHandle } from './keyed-state.js';
import { OperatorStateStore } from './operator-state.js';

export interface StateOwner {
  /** The user's uid, or undefined when the operator has none. */
  uid: string | undefined;
  /** What to call the operator in messages. */
  displayName: string;
  subtask: number;
}

export class OperatorStateAccessor implements StateAccessor {
  private readonly handles = new Map<string, unknown>();
  /**
   * The handle asked for last: a per-record function asks for the same name every record, and
   * comparing one (usually interned) string is cheaper than a Map lookup.
   */
  private lastName: string | undefined = undefined;
  private lastHandle: unknown = undefined;

  /** The cached handle of `name` if it is a `kind` instance; the caller creates it otherwise. */
  private cached<H>(name: string, kind: abstract new (...args: never[]) => H): H | undefined {
    if (name === this.lastName && this.lastHandle instanceof kind) return this.lastHandle;
    const h = this.handles.get(name);
    // A handle of another kind under this name falls through: register() refuses the mismatch.
    if (!(h instanceof kind)) return undefined;
    this.lastName = name;
    this.lastHandle = h;
    return h;
  }

  constructor(
    private readonly owner: StateOwner,
    private readonly keyed: KeyedStateStore | undefined,
    readonly operatorState: OperatorStateStore,
  ) {}

  private checkUid(name: string): void {
    if (this.owner.uid === undefined) {
      throw new EddyError(
        'UID_REQUIRED',
        `operator '${this.owner.displayName}' uses state '${name}' but has no uid; add .uid('...') after it so its state can be restored`,
        { operatorUid: this.owner.displayName, subtask: this.owner.subtask },
      );
    }
  }

  private keyedHandle<H>(name: string, kind: StateKind, options: StateOptions | undefined, make: (s: KeyedStateStore, t: number) => H): H {
    this.checkUid(name);
    if (!this.keyed) {
      throw new EddyError(
        'STATE_FAILED',
        `operator '${this.owner.displayName}' uses keyed ${kind} state '${name}' but its input is not keyed; call keyBy(...) before it`,
        { operatorUid: this.owner.uid, subtask: this.owner.subtask },
      );
    }
    const table = this.keyed.register(name, kind);
    let store: KeyedStateStore = this.keyed;
    if (options?.ttl) {
      const ttl = options.ttl;
      const where = { operatorUid: this.owner.uid, subtask: this.owner.subtask };
      if (typeof ttl.ttlMs !== 'number' || !(ttl.ttlMs > 0) || !Number.isFinite(ttl.ttlMs)) {
        throw new EddyError(
          'STATE_FAILED',
          `state '${name}' has TTL ${String(ttl.ttlMs)} ms; ttlMs must be a positive number of milliseconds`,
          where,
        );
      }
      if (ttl.update !== undefined && ttl.update !== 'onCreateAndWrite' && ttl.update !== 'onReadAndWrite') {
        throw new EddyError(
          'STATE_FAILED',
          `state '${name}' has TTL update '${String(ttl.update)}'; use 'onCreateAndWrite' or 'onReadAndWrite'`,
          where,
        );
      }
      const backend = this.keyed as Partial<KeyedBackend>;
      if (typeof backend.enableTtl !== 'function')
        throw new EddyError('UNSUPPORTED', `state TTL (state '${name}') is not supported by this state store`, where);
      backend.enableTtl(table, Date.now);
      store = new TtlStateView(this.keyed, ttl);
    }
    const h = make(store, table);
    this.handles.set(name, h);
    return h;
  }

  // The cached handle is returned before anything else, so the per-record call allocates nothing
  // (not even the factory closure).
  value<T>(name: string, options?: StateOptions): ValueState<T> {
    return (
      this.cached<ValueStateHandle<T>>(name, ValueStateHandle) ??
      this.keyedHandle(name, 'value', options, (s, t) => new ValueStateHandle<T>(s, t))
    );
  }
  list<T>(name: string, options?: StateOptions): ListState<T> {
    return (
      this.cached<ListStateHandle<T>>(name, ListStateHandle) ??
      this.keyedHandle(name, 'list', options, (s, t) => new ListStateHandle<T>(s, t))
    );
  }
  map<K, V>(name: string, options?: StateOptions): MapState<K, V> {
    return (
      this.cached<MapStateHandle<K, V>>(name, MapStateHandle) ??
      this.keyedHandle(name, 'map', options, (s, t) => new MapStateHandle<K, V>(s, t))
    );
  }
  reducing<T>(name: string, reduce: (a: T, b: T) => T, options?: StateOptions): ReducingState<T> {
    return (
      this.cached<ReducingStateHandle<T>>(name, ReducingStateHandle) ??
      this.keyedHandle(name, 'reducing', options, (s, t) => new ReducingStateHandle<T>(s, t, reduce))
    );
  }
  aggregating<IN, ACC, OUT>(name: string, fn: AggregateFunction<IN, ACC, OUT>, options?: StateOptions): AggregatingState<IN, OUT> {
    return (
      this.cached<AggregatingStateHandle<IN, ACC, OUT>>(name, AggregatingStateHandle) ??
      this.keyedHandle(name, 'aggregating', options, (s, t) => new AggregatingStateHandle<IN, ACC, OUT>(s, t, fn))
    );
  }

  operatorList<T>(name: string): OperatorListState<T> {
    this.checkUid(name);
    return this.operatorState.list<T>(name, 'split');
  }
  unionList<T>(name: string): OperatorListState<T> {
    this.checkUid(name);
    return this.operatorState.list<T>(name, 'union');
  }
  broadcast<K, V>(name: string): MapState<K, V> {
    this.checkUid(name);
    return this.operatorState.broadcast<K, V>(name);
  }
}
