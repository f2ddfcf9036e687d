/**
 * How the `eddy` command reports an error: one line on stderr, `eddy: [CODE] message` (with
 * the record's origin when known), the stack only with EDDY_DEBUG=1, and the exit code: 2 for
 * a usage error, 1 for anything else. An error that is not an EddyError is a bug in eddy and
 * says so, with its stack.
 */
import { describeOrigin, EddyError, type FailureCode } from '../failure.js';

const USAGE_CODES: ReadonlySet<FailureCode> = new Set<FailureCode>(['BAD_FLAG', 'BAD_ARG']);

/** An EddyError, also one that crossed a realm boundary (its class is another copy's). */
export function isEddyError(err: unknown): err is EddyError {
  return (
    err instanceof EddyError || (err instanceof Error && err.name === 'EddyError' && typeof (err as { code?: unknown }).code === 'string')
  );
}

/** `eddy: [CODE] message` on one line (the first line of the message). */
function errorLine(err: EddyError): string {
  const first = err.message.split('\n')[0]!.trim();
  return `eddy: [${err.code}] ${first}${err.origin !== undefined ? `; ${describeOrigin(err.origin)}` : ''}`;
}

/** Prints an error and returns the exit code for it. */
export function report(err: unknown): number {
  if (isEddyError(err)) {
    process.stderr.write(`${errorLine(err)}\n`);
    if (process.env.EDDY_DEBUG && err.stack) process.stderr.write(`${err.stack}\n`);
    return USAGE_CODES.has(err.code) ? 2 : 1;
  }
  const stack = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`eddy: unexpected error (a bug in eddy; please report it with this output)\n${stack}\n`);
  return 1;
}
