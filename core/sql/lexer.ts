/**
 * The SQL tokenizer: words (keywords and identifiers, case kept), `quoted` identifiers,
 * 'string' literals ('' escapes a quote), numbers, operators and punctuation, each with its
 * line and column. Comments (`-- …` and block comments) are skipped.
 */
import { sqlError, type Pos } from './errors.js';

/** One token; `text` is the identifier's name without backquotes, the string's value without quotes. */
export interface Token {
  kind: 'word' | 'quoted' | 'string' | 'number' | 'op' | 'eof';
  text: string;
  line: number;
  col: number;
}

const OPS = ['<>', '!=', '<=', '>=', '||', '(', ')', ',', '.', ';', '*', '+', '-', '/', '%', '=', '<', '>', '[', ']'];

/** The tokens of `text`, ending with an `eof` token. */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const pos = (at: number): Pos => ({ line, col: at - lineStart + 1 });
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '-' && text[i + 1] === '-') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const start = pos(i);
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw sqlError(start, 'this comment is not closed (expected */)');
      for (let j = i; j < end; j++) if (text[j] === '\n') (line++, (lineStart = j + 1));
      i = end + 2;
      continue;
    }
    const p = pos(i);
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < text.length && /[A-Za-z0-9_$]/.test(text[j]!)) j++;
      out.push({ kind: 'word', text: text.slice(i, j), ...p });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const m = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i))!;
      out.push({ kind: 'number', text: m[0], ...p });
      i += m[0].length;
      continue;
    }
    if (c === "'" || c === '`' || c === '"') {
      let j = i + 1;
      let value = '';
      for (;;) {
        if (j >= text.length)
          throw sqlError(p, c === "'" ? "this string is not closed (expected ')" : `this quoted name is not closed (expected ${c})`);
        const d = text[j]!;
        if (d === c) {
          if (text[j + 1] === c) {
            value += c;
            j += 2;
            continue;
          }
          break;
        }
        if (d === '\n') (line++, (lineStart = j + 1));
        value += d;
        j++;
      }
      out.push({ kind: c === "'" ? 'string' : 'quoted', text: value, ...p });
      i = j + 1;
      continue;
    }
    const op = OPS.find((o) => text.startsWith(o, i));
    if (op === undefined) throw sqlError(p, `unexpected character '${c}'`);
    out.push({ kind: 'op', text: op, ...p });
    i += op.length;
  }
  out.push({ kind: 'eof', text: '', ...pos(i) });
  return out;
}
