// Waiting on a condition instead of sleeping: a test that sleeps a fixed time before acting on
// a running job (stop it, kill it) acts too early on a busy machine and waits for nothing on an
// idle one.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readJsonLinesDir } from './json-rows.js';

/** Resolves once `cond()` holds, checking every `everyMs`; fails naming `what` after `timeoutMs`. */
export async function until(what: string, cond: () => boolean, timeoutMs = 60_000, everyMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Rows committed so far in a JSON-lines sink's folder (0 before the folder exists). */
export const committedRows = (dir: string): number => (existsSync(dir) ? readJsonLinesDir(dir).length : 0);
