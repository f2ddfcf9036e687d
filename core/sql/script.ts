/**
 * A SQL script as `eddy sql` runs it: the file's text with `${NAME}` replaced by the value of
 * `--arg NAME=VALUE` (as the Nexmark scripts' `${TPS}`), and the file argument's name.
 */
import { readFileSync } from 'node:fs';
import { EddyError } from '../failure.js';

/** The `--arg` that carries the script's path from the command line into every worker. */
export const SQL_FILE_ARG = 'sql.file';

/** The script at `path`, or INPUT_NOT_FOUND naming it. */
export function readScript(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new EddyError('INPUT_NOT_FOUND', `SQL file '${path}' cannot be read (${code ?? String(err)}); give the path of a .sql file`);
  }
}

/** `${NAME}` → the argument's value; a name without a value is a MISSING_ARG naming it. */
export function substitute(text: string, arg: (name: string) => string): string {
  return text.replace(/\$\{([A-Za-z0-9_.-]+)\}/g, (_, name: string) => arg(name));
}
