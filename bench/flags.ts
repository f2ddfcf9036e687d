/**
 * Command-line flags of the bench's entry points (the suite runner and the stand-alone probes):
 * every bad flag ends the program with one line that names it and exit code 2, never a stack.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';

export type Fail = (message: string) => never;

/** A `Fail` that prints `name: message` (then `usage`, when given) and exits 2. */
export function failWith(name: string, usage?: string): Fail {
  return (message) => {
    console.error(`${name}: ${message}${usage === undefined ? '' : `\n${usage}`}`);
    process.exit(2);
  };
}

/** `parseArgs`, with an unknown or malformed flag reported by `fail` (its first line). */
export function parseFlags<T extends ParseArgsConfig>(config: T, fail: Fail): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    return fail((err as Error).message.split('\n')[0]);
  }
}

/** A whole number ≥ 1 (underscores allowed: 1_000_000); undefined when the flag was not given. */
export function positiveInt(flag: string, text: string | undefined, fail: Fail): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 1) fail(`--${flag} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

/** The compiled DataStream job of Nexmark query `query` (q0 … q22), checked to exist. */
export function nexmarkJob(query: string, fail: Fail): string {
  if (!/^q\d+$/.test(query)) fail(`--query takes a Nexmark query name such as q5, got ${JSON.stringify(query)}`);
  const job = fileURLToPath(new URL(`../examples/nexmark/${query}.js`, import.meta.url));
  if (!existsSync(job)) fail(`no job ${job} (is the query name right, and was \`npm run build\` run?)`);
  return job;
}
