/**
 * esbuild (inside tsx) reports a TypeScript syntax error as
 *
 *   Transform failed with 2 errors:
 *   /abs/job.ts:3:20: ERROR: Unexpected ";"
 *   /abs/job.ts:9:1: ERROR: Expected "}" but found end of file
 *
 * and only that first line reached the user. This turns it into one line that names the file,
 * line, column and the compiler's message, with the source line quoted.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const HEADER = /^Transform failed with (\d+) errors?:/;
const LOCATED = /^(.*?):(\d+):(\d+): ERROR: (.*)$/;
const NOT_LOCATED = /^error: (.*)$/i;
/** Longest source excerpt quoted: the line is context, the message is the news. */
const EXCERPT_CHARS = 60;

function sourceLine(file: string, line: number): string | undefined {
  try {
    const text = readFileSync(file, 'utf8').split(/\r?\n/)[line - 1]?.trim();
    if (!text) return undefined;
    return text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text;
  } catch {
    return undefined;
  }
}

/** `file:line:column: message (near: …)[, and N more errors]`, or undefined if the message is not a compile error. */
export function compileErrorLine(message: string, cwd = process.cwd()): string | undefined {
  const lines = message.split('\n');
  const header = HEADER.exec(lines[0] ?? '');
  if (!header) return undefined;
  const count = Number(header[1]);
  const more = count > 1 ? ` (and ${count - 1} more error${count > 2 ? 's' : ''})` : '';
  for (const l of lines.slice(1)) {
    const m = LOCATED.exec(l.trim());
    if (m) {
      const [, file, line, column, text] = m;
      const rel = relative(cwd, file!);
      const shown = rel === '' || rel.startsWith('..') ? file! : rel;
      const near = sourceLine(file!, Number(line));
      return `${shown}:${line}:${column}: ${text}${near ? ` (near: ${near})` : ''}${more}`;
    }
    const n = NOT_LOCATED.exec(l.trim());
    if (n) return `${n[1]}${more}`;
  }
  return lines
    .slice(1)
    .find((l) => l.trim() !== '')
    ?.trim();
}
