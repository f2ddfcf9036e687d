/**
 * Cuts what the user typed into statements at each `;` that is not inside a string, a quoted
 * identifier or a comment. What follows the last `;` is kept until more lines come, so a
 * statement may span lines as in Flink's SQL client.
 */

export interface Split {
  /** Complete statements, trimmed, without their `;` (empty ones dropped). */
  statements: string[];
  /** Text after the last `;` (an unfinished statement), as typed; '' when it is only comments and blanks. */
  rest: string;
}

export function splitStatements(text: string): Split {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text[i];
    if (ch === "'" || ch === '"' || ch === '`') {
      // A doubled quote inside is the quote itself ('it''s'), which this loop treats as two strings.
      const close = text.indexOf(ch, i + 1);
      i = close < 0 ? n : close + 1;
    } else if (ch === '-' && text[i + 1] === '-') {
      const eol = text.indexOf('\n', i);
      i = eol < 0 ? n : eol + 1;
    } else if (ch === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
    } else if (ch === ';') {
      const s = text.slice(start, i).trim();
      if (s && !onlyComments(s)) statements.push(s);
      start = ++i;
    } else i++;
  }
  const rest = text.slice(start);
  return { statements, rest: onlyComments(rest) ? '' : rest };
}

/** True for text that holds nothing but comments and blanks. */
function onlyComments(s: string): boolean {
  return (
    s
      .replace(/--[^\n]*/g, '')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .trim() === ''
  );
}

/** The statement's leading keywords, upper-cased and single-spaced (comments skipped): 'SHOW TABLES', 'SELECT', … */
export function leadingWords(statement: string, count: number): string {
  const bare = statement
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .trim();
  return bare.split(/\s+/).slice(0, count).join(' ').toUpperCase();
}
