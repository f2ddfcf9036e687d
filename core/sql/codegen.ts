/**
 * Code generation for calcs (as Flink's CalcCodeGenerator). A compiled expression is a closure
 * over the row, and it may also carry its JavaScript source text, registered here. A calc (and
 * a rowtime column) then becomes ONE generated function with every condition and column written
 * inline. Why: the closures are shared by every plan (one `(row) => cmp(lf(row), rf(row))` for
 * all comparisons of all queries), so the calls inside them see every expression of every query
 * and V8 can inline none of them; a generated function per calc has call sites of its own, each
 * seeing one target. By a CPU profile of Nexmark q1 the closure chains and their memos were
 * about 15 % of a worker's time, and the larger generated code at the source's collect also kept
 * V8 from inlining the event generator.
 *
 * What has no source text (a function call, LIKE, CAST …) is still called as its closure from
 * the generated code, so every expression works the same either way.
 *
 * Common subexpressions (as Flink's generated code reuses a `RexNode` written twice): an
 * expression registered with `shared` and written more than once in one generated function is
 * computed once per record, into a local, on its first read (q14 writes `0.908 * price` three
 * times and `HOUR(dateTime)` four). `generate` writes the text twice: once to count, then for
 * real. Two occurrences are the same when their text is, with every bound value (an operator,
 * a function, a constant) the same object; a non-deterministic function is never registered.
 */

/** An expression as source text over the row expression `row`, its values bound through `b`. */
export type Js = (b: Binder, row: string) => string;

// Functions are the keys: a compiled expression is its closure, its text rides along.
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
type AnyFn = Function;

const sources = new WeakMap<AnyFn, Js>();

/** `fn`, with `js` registered as its source text. */
export function withJs<F extends AnyFn>(fn: F, js: Js): F {
  sources.set(fn, js);
  return fn;
}

/** `fn`, with `js` registered as its source text, computed once per record where a generated function writes it twice. */
export function shared<F extends AnyFn>(fn: F, js: Js): F {
  return withJs(fn, (b, row) => b.shared(js, row));
}

/** The source text of `fn`: its registered text, else a call of the closure itself. */
export function jsOf(fn: AnyFn): Js {
  return sources.get(fn) ?? ((b, row) => `${b.opaque(fn)}(${row})`);
}

/** Marks a lazily computed local not computed yet for this record (a value no expression returns). */
const UNSET = Symbol('unset');

/**
 * Collects what generated text refers to: values (closures, constants) bound as parameters of
 * the generating function, and locals computed at most once per record (memoized columns).
 */
export class Binder {
  private readonly bound = new Map<unknown, string>();
  private readonly values: unknown[] = [];
  private readonly lazies = new Map<object, string>();

  /**
   * @param presets locals set as the call starts, not on first read: key → the statements
   * setting the local `name` (a calc's rowtime column is the record's timestamp).
   */
  constructor(
    private readonly presets: ReadonlyMap<object, (name: string) => string> = new Map(),
    /** Keys of the shared subexpressions written more than once (by a counting pass): each becomes a local. */
    private readonly repeated: ReadonlySet<string> = new Set(),
  ) {}
  /** True once the text calls a closure without source text (which may read memos of its own). */
  calledOpaque = false;
  /** How often each shared subexpression was written, by its key. */
  readonly written = new Map<string, number>();
  /** One object per repeated key: the lazy local's key. */
  private readonly sharedKeys = new Map<string, object>();

  /** A name for `value` in the generated code. */
  bind(value: unknown): string {
    let name = this.bound.get(value);
    if (name === undefined) {
      name = `$${this.values.length}`;
      this.bound.set(value, name);
      this.values.push(value);
    }
    return name;
  }

  /** A name for the closure `fn` called as it is. */
  opaque(fn: AnyFn): string {
    this.calledOpaque = true;
    return this.bind(fn);
  }

  /** A value computed the first time a record reads it (`key` names it), kept in a local. */
  lazy(key: object, inner: () => string): string {
    const name = this.local(key);
    if (this.presets.has(key)) return name;
    const unset = this.bind(UNSET);
    return `(${name} !== ${unset} ? ${name} : (${name} = ${inner()}))`;
  }

  /** The text `js` writes over `row`: a local computed on first read when the function writes the same text again. */
  shared(js: Js, row: string): string {
    const key = js(KEYS, row);
    this.written.set(key, (this.written.get(key) ?? 0) + 1);
    if (!this.repeated.has(key)) return js(this, row);
    let k = this.sharedKeys.get(key);
    if (k === undefined) this.sharedKeys.set(key, (k = {}));
    return this.lazy(k, () => js(this, row));
  }

  private local(key: object): string {
    let name = this.lazies.get(key);
    if (name === undefined) this.lazies.set(key, (name = `v${this.lazies.size}`));
    return name;
  }

  /** Compiles `(params) => { body }` with the locals declared first (each unset, or preset). */
  build<F>(params: string, body: string): F {
    const locals = [...this.lazies].map(([key, name]) => this.presets.get(key)?.(name) ?? `let ${name} = ${this.bind(UNSET)};`).join(' ');
    const names = [...this.bound.values()];
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the text is built from fixed templates and JSON-quoted names; values come in as parameters
    return new Function(...names, `return (${params}) => { ${locals} ${body} };`)(...this.values) as F;
  }
}

/**
 * Writes text whose bound values are named by identity (the same object: the same name in every
 * function), so equal keys mean the same computation; a lazy local is named by its key object.
 */
class KeyBinder extends Binder {
  private static readonly ids = new WeakMap<object, number>();
  private static readonly symbols = new Map<symbol, number>();
  private static next = 0;

  override bind(value: unknown): string {
    if (typeof value === 'symbol') return `@s${KeyBinder.number(KeyBinder.symbols, value)}`;
    if ((typeof value === 'object' && value !== null) || typeof value === 'function') return `@${KeyBinder.number(KeyBinder.ids, value)}`;
    return Object.is(value, -0) ? '@-0' : `@${typeof value}:${String(value)}`;
  }
  override opaque(fn: AnyFn): string {
    return this.bind(fn);
  }
  override lazy(key: object): string {
    return `@lazy${this.bind(key)}`;
  }
  override shared(js: Js, row: string): string {
    return js(this, row);
  }
  private static number<K>(ids: { get(k: K): number | undefined; set(k: K, v: number): unknown }, k: K): number {
    let n = ids.get(k);
    if (n === undefined) ids.set(k, (n = KeyBinder.next++));
    return n;
  }
}
const KEYS = new KeyBinder();

/**
 * Generates `(params) => { body }` with common subexpressions computed once per record: `body`
 * writes the text into the binder it is given, and runs twice (counting, then writing).
 */
export function generate<F>(
  params: string,
  body: (b: Binder) => string,
  presets?: ReadonlyMap<object, (name: string) => string>,
): { fn: F; binder: Binder } {
  const counting = new Binder(presets);
  body(counting);
  const repeated = new Set([...counting.written].flatMap(([k, n]) => (n > 1 ? [k] : [])));
  const b = new Binder(presets, repeated);
  return { fn: b.build<F>(params, body(b)), binder: b };
}

/** Source text of a constant: inline when it prints exactly, else bound. */
export function constJs(b: Binder, v: unknown): string {
  if (v === null || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' && Number.isFinite(v) && !Object.is(v, -0)) return `(${String(v)})`;
  return b.bind(v);
}

/** Source text reading `row[key]`, then each of `path` (NULL when anything on the way is absent). */
export function readJs(row: string, key: string, path: readonly string[]): string {
  return `(${row}[${JSON.stringify(key)}]${path.map((p) => `?.[${JSON.stringify(p)}]`).join('')} ?? null)`;
}

/** A generated `(row) => value` for the closure `fn` (the closure itself when it has no text). */
export function generated<F extends AnyFn>(fn: F): F {
  if (!sources.has(fn)) return fn;
  return withJs(generate<F>('r', (b) => `return ${jsOf(fn)(b, 'r')};`).fn, jsOf(fn));
}

/** A generated `(row) => boolean`: TRUE when every one of `conds` is TRUE for the row (NULL and FALSE fail). */
export function allTrue(conds: readonly AnyFn[]): (row: Record<string, unknown>) => boolean {
  return generate<(row: Record<string, unknown>) => boolean>(
    'r',
    (b) => `return ${conds.map((c) => `${jsOf(c)(b, 'r')} === true`).join(' && ') || 'true'};`,
  ).fn;
}
