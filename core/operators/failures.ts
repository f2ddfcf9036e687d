/** Attributes an exception to the operator and subtask it happened in. */
import type { RuntimeContext } from '../api/functions.js';
import { EddyError, toFailure, type FailureCode } from '../failure.js';

/**
 * An error from further down the chain passes through a user function (flatMap and process
 * call `out.collect` themselves); it is already an EddyError with its own location and is
 * kept as it is.
 */
export function userFunctionFailure(err: unknown, ctx: Pick<RuntimeContext, 'operatorUid' | 'subtaskIndex'>): EddyError {
  return operatorFailure(err, 'USER_FUNCTION_FAILED', 'user function threw', ctx.operatorUid, ctx.subtaskIndex);
}

export function operatorFailure(err: unknown, code: FailureCode, context: string, operatorUid: string, subtask: number): EddyError {
  if (err instanceof EddyError) return err;
  return EddyError.fromFailure(toFailure(err, { code, operatorUid, subtask, context }));
}
