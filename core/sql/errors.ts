/**
 * SQL errors: one line naming where (line, column) and what, with a code from core/failure.ts
 * (SQL_INVALID for syntax, names and types; UNSUPPORTED for a feature eddy does not plan yet).
 */
import { EddyError } from '../failure.js';

/** A place in the statement text, 1-based. */
export interface Pos {
  line: number;
  col: number;
}

/** An invalid statement: a syntax error, an unknown name, a type mismatch. */
export function sqlError(pos: Pos | undefined, message: string): EddyError {
  return new EddyError('SQL_INVALID', `${where(pos)}${message}`);
}

/** A valid statement that uses a feature eddy's SQL does not support yet (says which). */
export function sqlUnsupported(pos: Pos | undefined, feature: string): EddyError {
  return new EddyError('UNSUPPORTED', `${where(pos)}${feature} is not supported by eddy's SQL yet`);
}

function where(pos: Pos | undefined): string {
  return pos === undefined ? 'SQL: ' : `SQL line ${pos.line}, column ${pos.col}: `;
}
