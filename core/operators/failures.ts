/** Attributes an exception to the operator and subtask it happened in. */
import type { RuntimeContext } from '../contract/functions.js';
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

/** How much of the record a NULL_KEY message quotes. */
const RECORD_PREVIEW_CHARS = 80;

function preview(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > RECORD_PREVIEW_CHARS ? `${text.slice(0, RECORD_PREVIEW_CHARS)}…` : text;
}

/**
 * A key selector returned undefined or null (Flink: "Assigned key must not be null"). Such
 * records would otherwise all share one key, and one key group, silently.
 */
export function nullKeyError(key: null | undefined, record: unknown, keyedUid: string, senderUid: string, subtask: number): EddyError {
  return new EddyError(
    'NULL_KEY',
    `the keyBy selector of operator '${keyedUid}' returned ${key === null ? 'null' : 'undefined'} for the record ${preview(record)} (sent by '${senderUid}', subtask ${subtask}); every record needs a key: return a string or number, or filter such records out before keyBy`,
    { operatorUid: keyedUid, subtask },
  );
}
