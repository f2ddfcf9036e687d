/**
 * SQL is parsed once per job, in the main thread. Its build records every text it parsed, in
 * order, in the job's build notes; the notes travel to each worker in its task spec, and the
 * worker's build of the same job (the same calls with the same texts) takes the statements from
 * there instead of parsing again. Before, each worker thread parsed, planned and compiled the
 * whole script: about 35 ms of CPU per thread and job for Nexmark q5 (issue 17), six threads at
 * parallelism 2. The trees are plain data (ast.ts), which the planner reads and never writes.
 *
 * Each recorded parse is handed out once, in call order, so a text given twice is two trees in
 * a worker as in the main thread. A text that does not match the next recorded one is parsed
 * (the fingerprint check still catches a build that differs).
 */
import type { StreamExecutionEnvironment } from '../api/environment.js';

/** The build-notes entry: the texts parsed by the main thread's build, in order. */
export const PARSED_NOTE = 'sql.parsed';

interface Parsed {
  kind: string;
  text: string;
  tree: unknown;
}

/** How many recorded parses each worker build has taken. */
const readUpTo = new WeakMap<StreamExecutionEnvironment, number>();

let parsedHere = 0;

/** How many texts this thread has parsed (a test hook: a worker replaying a plan parses none). */
export function parsesInThisThread(): number {
  return parsedHere;
}

/** `parse(text)`, or in a worker the tree the main thread's build parsed from the same text. */
export function parseOnce<T>(env: StreamExecutionEnvironment, kind: string, text: string, parse: (text: string) => T): T {
  const shipped = env.replayOf?.[PARSED_NOTE] as Parsed[] | undefined;
  if (shipped !== undefined) {
    const at = readUpTo.get(env) ?? 0;
    const next = shipped[at];
    if (next !== undefined && next.kind === kind && next.text === text) {
      readUpTo.set(env, at + 1);
      return next.tree as T;
    }
  }
  parsedHere++;
  const tree = parse(text);
  if (env.replayOf === undefined) ((env.notes[PARSED_NOTE] ??= []) as Parsed[]).push({ kind, text, tree });
  return tree;
}
