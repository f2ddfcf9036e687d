/**
 * `eddy sql` without a file: a prompt that reads statements ended by `;` (over as many lines as
 * they take), runs DDL at once against the session's catalog, and runs a SELECT as a job whose
 * result is shown as a table that updates in place (Flink's SQL client in table mode) until
 * the query ends or the user presses q or Ctrl-C. SHOW TABLES, DESCRIBE t, EXPLAIN … and QUIT.
 */
import { createInterface, type Interface } from 'node:readline';
import type { RunOptions } from '../../runtime/options.js';
import { EddyError } from '../../failure.js';
import { leadingWords, splitStatements } from './statements.js';
import { runLiveQuery } from './live-query.js';
import type { ShellCatalog } from './catalog.js';

export const PROMPT = 'eddy sql> ';
export const CONTINUATION = '       > ';

export interface ShellOptions {
  input: NodeJS.ReadStream;
  output: NodeJS.WriteStream;
  /** How queries run (parallelism, mode …: the run flags given to `eddy sql`). */
  runOptions: RunOptions;
  catalog: ShellCatalog;
}

/** Runs the shell until QUIT, EXIT or the end of input; resolves with the exit code. */
export async function runShell(o: ShellOptions): Promise<number> {
  const out = (s: string) => o.output.write(s);
  out('eddy SQL shell. Statements end with ;  SELECT shows a live table (q or Ctrl-C stops it). QUIT; leaves.\n');
  const tty = o.input.isTTY === true;
  let history: string[] = [];
  let pending = '';
  // Statements typed but not run yet: lines pasted together arrive in one go, and every line
  // readline has split off before a statement runs must still be run.
  const queue: string[] = [];
  let ended = false;
  // On a terminal the interface closes while a query runs (the query reads keys in raw mode),
  // and what was typed after the last newline (a paste cut by the terminal mid-line) is carried
  // into the next one. From a pipe there are no keys to read: one interface serves the whole
  // session, so no line is ever split between two readers.
  let rl: Interface | undefined;
  let carry = '';
  let wake = () => {};
  let leaving = false;
  // From a pipe no prompt is written (as psql): the output is only the statements' answers.
  const prompt = () => {
    if (!tty) return;
    rl!.setPrompt(pending ? CONTINUATION : PROMPT);
    rl!.prompt();
  };
  const open = (): Interface => {
    const r = createInterface({ input: o.input, output: o.output, terminal: tty, history, historySize: 500 });
    r.on('line', (line) => {
      const split = splitStatements(`${pending}${line}\n`);
      pending = split.rest;
      queue.push(...split.statements);
      if (queue.length > 0) wake();
      else prompt();
    });
    // Ctrl-C at the prompt drops what was typed, as psql and Flink's client do.
    r.on('SIGINT', () => {
      pending = '';
      out('^C\n');
      prompt();
    });
    r.on('close', () => {
      // The close of the end of input (Ctrl-D), not ours before a statement runs.
      if (!leaving) ended = true;
      wake();
    });
    return r;
  };
  for (;;) {
    while (queue.length > 0) {
      const quit = await execute(queue.shift()!, o).catch((err) => {
        out(`[ERROR] ${messageOf(err)}\n`);
        return false;
      });
      if (quit) return close(rl);
    }
    if (ended) {
      out('\n');
      return close(rl);
    }
    const waiting = new Promise<void>((resolve) => (wake = resolve));
    if (rl === undefined) {
      rl = open();
      prompt();
      if (carry) rl.write(carry);
    } else {
      rl.resume();
      prompt();
    }
    await waiting;
    if (tty) {
      history = (rl as unknown as { history?: string[] }).history ?? history;
      // readline's own close handler takes its keypress listener off the input: keep it.
      carry = rl.line;
      leaving = true;
      rl.close();
      leaving = false;
      rl = undefined;
    } else {
      rl.pause();
    }
  }
}

function close(rl: Interface | undefined): number {
  rl?.close();
  return 0;
}

function messageOf(err: unknown): string {
  if (err instanceof EddyError || (err instanceof Error && err.name === 'EddyError'))
    return `${(err as EddyError).code}: ${err.message.split('\n')[0]}`;
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

/** Runs one statement; true when it asks to leave. */
async function execute(statement: string, o: ShellOptions): Promise<boolean> {
  const out = (s: string) => o.output.write(s);
  const words = leadingWords(statement, 2);
  const first = words.split(' ')[0];
  if (first === 'QUIT' || first === 'EXIT') return true;
  if (words === 'SHOW TABLES') {
    const names = o.catalog.tables();
    out(names.length === 0 ? 'Empty set\n' : `${names.join('\n')}\n`);
  } else if (first === 'DESCRIBE' || first === 'DESC') {
    const name = statement.trim().split(/\s+/)[1]?.replace(/`/g, '');
    if (!name) throw new EddyError('BAD_ARG', 'DESCRIBE needs a table name: DESCRIBE t;');
    const cols = o.catalog.describe(name);
    const width = Math.max(4, ...cols.map((c) => c.name.length));
    out(
      `${'name'.padEnd(width)} | type\n${'-'.repeat(width)}-+-----\n${cols.map((c) => `${c.name.padEnd(width)} | ${c.type ?? ''}`).join('\n')}\n`,
    );
  } else if (first === 'EXPLAIN') {
    out(`${o.catalog.explain(statement)}\n`);
  } else if (first === 'SELECT' || first === 'WITH' || first === '(' || first.startsWith('(')) {
    await runLiveQuery(statement, o);
  } else if (first === 'INSERT') {
    await runLiveQuery(statement, o, { insert: true });
  } else {
    out(`${o.catalog.ddl(statement)}\n`);
  }
  return false;
}
