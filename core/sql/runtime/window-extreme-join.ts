/**
 * A stream joined with its own tumbling-window MAX (or MIN) as a regular join would join them
 * (Nexmark q7: bids with the bids' 10 s MAX(price), on price = MAX and a time bound that keeps
 * a bid within its window, or on the window's end), in one keyed stage instead of a window
 * aggregate, two exchanges and a regular join that stores every row.
 *
 * Keyed by window start. Per window, as keyed state:
 *   'extreme'     the running MAX over the window's members (rows not late for the window:
 *                 the window aggregate's own rule, end - 1 > watermark on arrival); kept after
 *                 the window fires, as the regular join keeps the aggregate's row, so a late
 *                 row still joins it;
 *   'candidates'  until the window fires, the rows that can still equal the final MAX: members
 *                 at the running MAX (a window's MAX only grows, so a row below it never equals
 *                 it) and, when rows on a window's end can match the window before, those rows
 *                 at or above the running MAX (they are not members, so any of them may).
 * A row whose time is a window's start is sent twice: as a member of its window and, wrapped
 * in a one-element array, as an edge row of the window before (key = its start - size).
 *
 * When the watermark reaches end - 1 (the window aggregate fires then), each candidate equal to
 * the MAX is offered to `join` with the window, and the candidates are dropped. A row arriving
 * for a window that fired is offered at once if it equals the kept MAX (a regular join has no
 * lateness). `join` builds and checks the joined row (the whole join condition): the pruning
 * here only leaves out rows that cannot meet its equality, so the result is the regular join's.
 * Rows whose value or time is NULL match no window (SQL's = is never TRUE for NULL).
 */
import type { DataStream } from '../../api/datastream.js';
import type { Collector, RuntimeContext } from '../../contract/functions.js';
import { windowStart } from '../../time/windows/window.js';
import type { Row } from './changelog.js';

const EXTREME = 'extreme';
const CANDIDATES = 'candidates';

/** Options of {@link windowExtremeJoin}. */
export interface WindowExtremeJoinOptions {
  /** The rows' event-time column (their record timestamps): the window is assigned by it. */
  timeKey: string;
  /** The column the aggregate takes the MAX / MIN of, and the join equates with it. */
  valueKey: string;
  kind: 'max' | 'min';
  /** Tumbling window size in ms (no offset). */
  sizeMs: number;
  /** Whether a row exactly on a window's end may match that window (a bound `t <= window_end`). */
  edge: boolean;
  /** The joined row of `row` with the window [start, start + size) whose aggregate is `extreme`, or undefined when the join condition is not TRUE. */
  join: (row: Row, start: number, extreme: number) => Row | undefined;
  /** uid of the operator. */
  uid: string;
  /** Name of the operator and of the edge fan-out before it. */
  name: string;
  /** uid of the edge fan-out (a stateless flatMap). */
  fanOutUid: string;
}

/** An edge row: sent to the window before its own, which it may match but is not a member of. */
type Edge = [Row];
type Element = Row | Edge;

/**
 * The join described above over append-only `rows`; an append-only output. The fan-out runs
 * chained to the rows' operator; the join is keyed by window start.
 */
export function windowExtremeJoin(rows: DataStream<Row>, opts: WindowExtremeJoinOptions): DataStream<Row> {
  const { timeKey: t, valueKey: v, sizeMs: size, join, edge: withEdge } = opts;
  // `beats(a, b)`: a replaces b as the running MAX (MIN); a candidate c stays while !beats(extreme, c).
  const beats = opts.kind === 'max' ? (a: number, b: number): boolean => a > b : (a: number, b: number): boolean => a < b;
  const fannedOut = rows
    .flatMap<Element>((row, out) => {
      const ts = row[t];
      // A NULL time or value matches no window (and the window aggregate counts no NULL).
      if (typeof ts !== 'number' || ts !== ts || typeof row[v] !== 'number') return;
      out.collect(row);
      if (withEdge && windowStart(ts, 0, size) === ts) out.collect([row]);
    })
    .uid(opts.fanOutUid)
    .name(`${opts.name} edge fan-out`);
  const emit = (row: Row, start: number, extreme: number, out: Collector<Row>): void => {
    const joined = join(row, start, extreme);
    if (joined !== undefined) out.collect(joined);
  };
  return fannedOut
    .keyBy((e: Element) => (Array.isArray(e) ? windowStart(e[0][t] as number, 0, size) - size : windowStart(e[t] as number, 0, size)))
    .process<Row>({
      processElement(e: Element, ctx: RuntimeContext, out: Collector<Row>) {
        const isEdge = Array.isArray(e);
        const row = isEdge ? e[0] : e;
        const value = row[v] as number;
        const start = ctx.currentKey as number;
        const extremeState = ctx.state.value<number>(EXTREME);
        const extreme = extremeState.value();
        if (start + size - 1 <= ctx.timers.currentWatermark()) {
          // The window fired (or never had a member): join its kept aggregate, keep nothing.
          if (extreme !== undefined && value === extreme) emit(row, start, extreme, out);
          return;
        }
        if (isEdge) {
          // Not a member: its value does not move the MAX. The timer clears it should no member come.
          if (extreme !== undefined && beats(extreme, value)) return;
          ctx.state.list<Row>(CANDIDATES).add(row);
          ctx.timers.registerEventTimeTimer(start + size - 1);
          return;
        }
        if (extreme === undefined || beats(value, extreme)) {
          // A new running MAX: candidates below it (members at the old one, edge rows) can no longer match.
          if (extreme === undefined) ctx.timers.registerEventTimeTimer(start + size - 1);
          extremeState.update(value);
          const candidates = ctx.state.list<Row>(CANDIDATES);
          const held = candidates.get();
          if (held.length === 0) candidates.add(row);
          else {
            const kept = held.filter((c) => !beats(value, c[v] as number));
            kept.push(row);
            candidates.update(kept);
          }
        } else if (value === extreme) ctx.state.list<Row>(CANDIDATES).add(row);
      },
      onTimer(_ts: number, ctx: RuntimeContext, out: Collector<Row>) {
        const candidates = ctx.state.list<Row>(CANDIDATES);
        const extreme = ctx.state.value<number>(EXTREME).value();
        const start = ctx.currentKey as number;
        if (extreme !== undefined) for (const c of candidates.get()) if (c[v] === extreme) emit(c, start, extreme, out);
        candidates.clear();
      },
    })
    .uid(opts.uid)
    .name(opts.name);
}
