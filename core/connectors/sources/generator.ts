/**
 * Records made by a function of their index. Subtask s of p produces s, s+p, s+2p, … so the
 * union over subtasks is the same at any parallelism. A reader's work is a list of
 * arithmetic progressions: normally one, more after a rescale, when a reader takes over the
 * part of several old progressions that falls into its own residue class.
 */
import type { Collector } from '../../contract/functions.js';
import { EddyError } from '../../failure.js';
import type { ConnectorContext, PollStatus, Source, SourceReader, SplitPosition } from '../types.js';

export interface GeneratorOptions<T> {
  /** Number of records; undefined makes the source unbounded. */
  count?: number;
  /** Records per second for the whole source (shared evenly by the subtasks). */
  rate?: number;
  /**
   * The record of index i (0, 1, 2, …): called once per index over all subtasks, in any order
   * between subtasks; it must be a pure function of i, since a restore calls it again for the
   * indices after the checkpoint (Flink's `GeneratorFunction`).
   */
  fn: (index: number) => T;
}

/** What a generator reader keeps in a checkpoint. */
export interface GeneratorState {
  /** The next index in this reader's sequence (may be ≥ count when it is done). */
  next: number;
  parallelism: number;
  /** Remaining work: [next, step] means next, next+step, next+2*step, … */
  progressions: Array<[number, number]>;
}

/** Burst allowance of the rate limiter: this much time's worth of records may go at once. */
const BURST_MS = 100;
const MAX_IDLE_MS = 100;

/**
 * Records made by `fn(index)` for index 0, 1, 2, … (Flink's `DataGeneratorSource`): `count`
 * of them, or unbounded without `count`, at most `rate` per second when given. Subtask s of p
 * makes the indices s, s+p, s+2p, …; the position is checkpointed, so each index is emitted
 * once across failures and rescales.
 */
export function generator<T>(opts: GeneratorOptions<T>): Source<T> {
  const { count, rate, fn } = opts;
  if (count !== undefined && !(Number.isSafeInteger(count) && count >= 0)) {
    throw new EddyError('JOB_INVALID', `generator: count must be a non-negative integer, got ${count}`);
  }
  if (rate !== undefined && !(rate > 0 && Number.isFinite(rate))) {
    throw new EddyError('JOB_INVALID', `generator: rate must be a positive number of records per second, got ${rate}`);
  }
  if (typeof fn !== 'function') throw new EddyError('JOB_INVALID', 'generator: fn must be a function (index) => record');
  return {
    kind: 'generator',
    stateful: true,
    bounded: count !== undefined,
    createReader(ctx: ConnectorContext) {
      return new GeneratorReader(
        fn,
        count ?? Infinity,
        rate === undefined ? undefined : rate / ctx.parallelism,
        ctx.subtaskIndex,
        ctx.parallelism,
      );
    },
  };
}

/** The part of next, next+step, … that is ≡ s (mod p), or undefined if there is none. */
function restrict(next: number, step: number, s: number, p: number): [number, number] | undefined {
  // Residues of next + k*step (mod p) repeat with period p / gcd(step, p) ≤ p.
  for (let k = 0; k < p; k++) {
    const x = next + k * step;
    if (x % p === s) return [x, lcm(step, p)];
  }
  return undefined;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function lcm(a: number, b: number): number {
  return (a / gcd(a, b)) * b;
}

function isState(s: unknown): s is GeneratorState {
  const t = s as GeneratorState;
  return typeof t === 'object' && t !== null && typeof t.parallelism === 'number' && Array.isArray(t.progressions);
}

class GeneratorReader<T> implements SourceReader<T> {
  private progs: Array<{ next: number; step: number }>;
  private tokens = 1;
  private lastRefill = -1;
  private idle = 1;
  /** Index of the record being emitted, for a failure's origin; -1 before the first. */
  private at = -1;

  constructor(
    private readonly fn: (index: number) => T,
    private readonly count: number,
    /** Records per second for this subtask. */
    private readonly rate: number | undefined,
    private readonly index: number,
    private readonly parallelism: number,
  ) {
    this.progs = [{ next: index, step: parallelism }];
  }

  get idleMs(): number {
    return this.idle;
  }

  /** The index of the record being emitted (the argument `fn` got). */
  currentOrigin(): SplitPosition | undefined {
    return this.at < 0 ? undefined : { split: `generator ${this.index}/${this.parallelism}`, offset: this.at };
  }

  restoreState(state: unknown): void {
    const states = Array.isArray(state) ? state : state == null ? [] : [state];
    if (states.length === 0) return;
    for (const s of states) {
      if (!isState(s)) throw new EddyError('STATE_FAILED', `generator: restored source state is malformed: ${JSON.stringify(s)}`);
    }
    const list = states as GeneratorState[];
    // One reader's state covers only its own indices; at another parallelism the other
    // readers' indices would be lost silently, so that needs all readers' states.
    if (!Array.isArray(state) && list[0].parallelism !== this.parallelism) {
      throw new EddyError(
        'UNSUPPORTED',
        `generator: cannot restore one reader's position taken at parallelism ${list[0].parallelism} into parallelism ${this.parallelism}; rescaling needs the states of all readers`,
      );
    }
    const progs: Array<{ next: number; step: number }> = [];
    for (const s of list) {
      for (const [next, step] of s.progressions) {
        const r = restrict(next, step, this.index, this.parallelism);
        if (r && r[0] < this.count) progs.push({ next: r[0], step: r[1] });
      }
    }
    this.progs = progs;
    // The rate starts afresh from the restored position rather than catching up.
    this.tokens = 1;
    this.lastRefill = -1;
  }

  snapshotState(): GeneratorState {
    let next = Infinity;
    for (const p of this.progs) if (p.next < next) next = p.next;
    const live = this.progs.filter((p) => p.next < this.count);
    return {
      // JSON has no Infinity: an unbounded reader left with no work (a rescale gave it none).
      next: next !== Infinity ? next : Number.isFinite(this.count) ? this.count : Number.MAX_SAFE_INTEGER,
      parallelism: this.parallelism,
      progressions: live.map((p) => [p.next, p.step]),
    };
  }

  poll(out: Collector<T>, max: number): PollStatus {
    let allowed = max;
    if (this.rate !== undefined) {
      const now = performance.now();
      if (this.lastRefill >= 0) {
        const cap = Math.max(1, (this.rate * BURST_MS) / 1000);
        this.tokens = Math.min(cap, this.tokens + ((now - this.lastRefill) * this.rate) / 1000);
      }
      this.lastRefill = now;
      allowed = Math.min(max, Math.floor(this.tokens));
      if (allowed <= 0) {
        const wait = ((1 - this.tokens) * 1000) / this.rate;
        this.idle = Math.min(MAX_IDLE_MS, Math.max(1, Math.ceil(wait)));
        return this.hasMore() ? 'idle' : 'end';
      }
    }
    const progs = this.progs;
    const count = this.count;
    const fn = this.fn;
    let n = 0;
    // Emit the smallest pending index first, so a reader's indices always increase.
    while (n < allowed) {
      let best = progs[0];
      if (best === undefined) break;
      for (let j = 1; j < progs.length; j++) if (progs[j].next < best.next) best = progs[j];
      const i = best.next;
      if (i >= count) break;
      best.next = i + best.step;
      this.at = i;
      out.collect(fn(i));
      n++;
    }
    if (this.rate !== undefined) this.tokens -= n;
    if (n > 0) return 'more';
    return this.hasMore() ? 'more' : 'end';
  }

  private hasMore(): boolean {
    for (const p of this.progs) if (p.next < this.count) return true;
    return false;
  }
}
