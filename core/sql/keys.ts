/**
 * Key selectors of SQL's keyed operators (a window aggregate's GROUP BY, a join's equality),
 * generated as one function each (codegen.ts): the key expressions are written inline instead
 * of called through the compiled closures, which every plan shares, so V8 sees one target per
 * call site. The key values are the same as those closures give.
 */
import { Binder, jsOf } from './codegen.js';
import type { Compiled, Row } from './expressions.js';

/** What a NULL key value is keyed as (keyBy needs a value; SQL groups the NULLs together). */
export const NULL_KEY = '\u0000null';

/**
 * The key of a row for keyBy: the value of a single key (NULL as NULL_KEY), else one string of
 * the values, each a number's digits, N for NULL or JSON (a quoted string), joined by commas: no
 * two different value lists give the same string, since a quoted string cannot close early.
 */
export function keySelector(keys: readonly Compiled[]): (row: Row) => unknown {
  if (keys.length === 0) return () => 0;
  const b = new Binder();
  if (keys.length === 1) return b.build('r', `return ${jsOf(keys[0]!.fn)(b, 'r')} ?? ${JSON.stringify(NULL_KEY)};`);
  // One converter per key column, each remembering its last number (bound as distinct values).
  return b.build('r', `return ${keys.map((k) => `${b.bind(lastNumberKept())}(${jsOf(k.fn)(b, 'r')})`).join(" + ',' + ")};`);
}

function keyPart(v: unknown): string {
  return typeof v === 'number' ? String(v) : v === null || v === undefined ? 'N' : JSON.stringify(v);
}

/**
 * keyPart for one key column, its last number's digits kept: the rows of a window aggregate
 * leave it window by window, so a key holding window_start and window_end (q8's window join)
 * would otherwise turn the same two 13-digit times into new strings for every row, on the
 * sending and again on the receiving side (a sixth of a q8 window thread's time). NaN never
 * equals the last value, and 0 and -0 both give "0".
 */
function lastNumberKept(): (v: unknown) => string {
  let last = NaN;
  let digits = '';
  return (v) => {
    if (typeof v !== 'number') return keyPart(v);
    if (v !== last) {
      last = v;
      digits = String(v);
    }
    return digits;
  };
}

/** The equi-join key as the changelog join takes it: the value of a single key, else an array of the values (NULL matches nothing). */
export function rawKey(keys: readonly Compiled[]): (row: Row) => unknown {
  const b = new Binder();
  if (keys.length === 1) return b.build('r', `return ${jsOf(keys[0]!.fn)(b, 'r')};`);
  return b.build('r', `return [${keys.map((k) => jsOf(k.fn)(b, 'r')).join(', ')}];`);
}

/**
 * A row's identity by the columns `keys`, generated: the same string as the runtime's rowId
 * (runtime/keys.ts) for a row holding exactly these columns, without listing and sorting the
 * row's own keys per record. Rows of one relation hold its fields, and a consumer that reads
 * only these columns (a join's combine) treats rows equal in them as equal.
 */
export function rowIdOf(keys: readonly string[]): (row: Row) => string {
  const b = new Binder();
  const parts = [...keys]
    .sort()
    .map((k) => `${JSON.stringify(`${JSON.stringify(k)}:`)} + JSON.stringify(r[${JSON.stringify(k)}] ?? null) + ','`);
  return b.build('r', `return ${parts.join(' + ') || "''"};`);
}
