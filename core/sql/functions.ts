/**
 * User-defined scalar functions: `CREATE FUNCTION name AS 'module.js'` in a script (the module
 * is resolved from the script's folder and loaded with require(), which in Node 20.19+ also
 * loads ES modules without top-level await) and `registerFunction` for jobs. A script is planned
 * again in every worker, so the registration runs there too and calls never cross threads.
 */
import { createRequire } from 'node:module';
import { isAbsolute, join } from 'node:path';

import { EddyError } from '../failure.js';
import { sqlError, type Pos } from './errors.js';
import { resolveType, type SqlType } from './types.js';

/**
 * A user-defined scalar function: called with the argument values, SQL NULL as null. With
 * `deterministic = false` (Flink's isDeterministic()) a call written twice in a query is called
 * twice per row; otherwise once.
 */
export type UserFunction = ((...args: unknown[]) => unknown) & { resultType?: string; deterministic?: boolean };

const registered = new Map<string, { fn: UserFunction; type: SqlType }>();

/**
 * Registers `fn` as the SQL scalar function `name` (case-insensitive) in this thread, with the
 * SQL type its results have (`fn.resultType`, e.g. 'BIGINT'; VARCHAR when absent).
 */
export function registerFunction(name: string, fn: UserFunction, resultType = fn.resultType ?? 'VARCHAR'): void {
  if (typeof fn !== 'function') throw new TypeError(`registerFunction('${name}', fn): fn must be a function`);
  registered.set(name.toUpperCase(), { fn, type: resolveType({ name: resultType.toUpperCase(), pos: { line: 0, col: 0 } }) });
}

/** The registered function `name` (upper case), if any. */
export function userFunction(name: string): { fn: UserFunction; type: SqlType } | undefined {
  return registered.get(name);
}

/** Loads the module of `CREATE FUNCTION name AS 'module' [LANGUAGE …]` and registers its default export. */
export function createFunction(name: string, module: string, language: string | undefined, baseDir: string, pos: Pos): void {
  if (language !== undefined && language !== 'JAVASCRIPT') {
    throw new EddyError(
      'UNSUPPORTED',
      `SQL line ${pos.line}, column ${pos.col}: CREATE FUNCTION ${name}: LANGUAGE ${language} is not supported; write the function as a JavaScript module and name its file (LANGUAGE JAVASCRIPT or no LANGUAGE clause)`,
    );
  }
  if (/^[a-z_$][\w$]*(\.[a-z_$][\w$]*)+$/i.test(module) && !/\.(c|m)?js$/.test(module)) {
    throw new EddyError(
      'UNSUPPORTED',
      `SQL line ${pos.line}, column ${pos.col}: CREATE FUNCTION ${name} AS '${module}' names a Java class; point it at a JavaScript module instead, e.g. AS './count-char.js'`,
    );
  }
  const path = isAbsolute(module) ? module : join(baseDir, module);
  let loaded: unknown;
  try {
    loaded = createRequire(join(baseDir, 'script.sql'))(path);
  } catch (err) {
    throw sqlError(
      pos,
      `CREATE FUNCTION ${name}: cannot load module ${path} (${(err as Error).message.split('\n')[0]}); check the path, relative to the SQL file`,
    );
  }
  const exp = loaded as { default?: unknown } | UserFunction;
  const fn = typeof exp === 'function' ? exp : (exp as { default?: unknown }).default;
  if (typeof fn !== 'function') throw sqlError(pos, `CREATE FUNCTION ${name}: module ${path} has no default export that is a function`);
  const resultType = (fn as UserFunction).resultType ?? (exp as { resultType?: string }).resultType;
  registerFunction(name, fn as UserFunction, resultType);
}
