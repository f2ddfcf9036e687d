/**
 * One query of the shell: runs it as a job (core/sql/shell/query-job), applies the changes its
 * sink posts to a materialized table, and redraws the table in place at a steady rate until the
 * query ends or the user presses q or Ctrl-C. The last frame stays on the screen.
 */
import { fileURLToPath } from 'node:url';
import { EddyError } from '../../failure.js';
import { runJob } from '../../runtime/job-run.js';
import type { LiveMessage } from './live-sink.js';
import { renderFrame, redraw, type ResultColumn } from './render.js';
import { MaterializedTable } from './result-table.js';
import type { ShellOptions } from './shell.js';

/** How often the table is redrawn while changes come, in ms. */
export const REDRAW_MS = 200;
/** After the job ends, how long to wait for its sink's last changes to arrive, in ms. */
const DRAIN_MS = 2000;

const QUERY_JOB = fileURLToPath(new URL('./query-job.js', import.meta.url));
let queries = 0;

export async function runLiveQuery(statement: string, o: ShellOptions, opts: { insert?: boolean } = {}): Promise<void> {
  const out = (s: string) => o.output.write(s);
  // Checked against the catalog first: a wrong column is one line, before any job starts.
  const columns: ResultColumn[] = opts.insert ? [] : o.catalog.columns(statement);
  const channel = `eddy-shell-${process.pid}-${++queries}`;
  const table = new MaterializedTable(columns.map((c) => c.name));
  const controller = new AbortController();
  const started = performance.now();

  let ended = false;
  let onEnd: () => void = () => {};
  const endSeen = new Promise<void>((resolve) => (onEnd = resolve));
  let dirty = true;
  const bc = new BroadcastChannel(channel);
  bc.onmessage = (ev: MessageEvent) => {
    const m = ev.data as LiveMessage;
    if (m.type === 'changes') {
      for (const c of m.changes) table.apply(c);
      dirty = true;
    } else {
      ended = true;
      onEnd();
    }
  };

  // Keys while the query runs: q or Ctrl-C stops it (in raw mode Ctrl-C is a byte, not a signal).
  const stop = () => controller.abort(new EddyError('CANCELLED', 'query stopped'));
  const onKey = (b: Buffer) => {
    const s = b.toString('utf8');
    if (s.includes('q') || s.includes('Q') || s.includes('\x03')) stop();
  };
  // Only a terminal has keys: from a pipe the input is the rest of the script, which the shell reads.
  const raw = o.input.isTTY === true;
  if (raw) {
    o.input.setRawMode(true);
    o.input.on('data', onKey);
    o.input.resume();
  }
  process.on('SIGINT', stop);

  // Redrawn in place only on a terminal; into a pipe or file only the final table is written.
  const live = o.output.isTTY === true;
  let drawn = 0;
  const draw = (status: string) => {
    const lines = renderFrame(table, columns, {
      width: o.output.columns || 100,
      // Not a terminal: every row (nothing to fit, nothing to redraw).
      height: live ? o.output.rows || 30 : table.size + 4,
      status,
      elapsedMs: performance.now() - started,
    });
    out(redraw(drawn, lines));
    drawn = lines.length;
    dirty = false;
  };
  if (opts.insert) out('[INFO] INSERT running (q or Ctrl-C stops it)\n');
  else if (live) draw('starting · q to stop');
  let ticks = 0;
  const timer = setInterval(() => {
    // Redrawn when rows changed, and once a second for the clock.
    if (live && !opts.insert && (dirty || ++ticks % Math.round(1000 / REDRAW_MS) === 0)) draw('running · q to stop');
  }, REDRAW_MS);

  let outcome = 'finished';
  let failure: unknown;
  try {
    const result = await runJob(
      QUERY_JOB,
      { ...o.runOptions, args: { script: o.catalog.script(), query: statement, channel, insert: opts.insert ? 'true' : 'false' } },
      { signal: controller.signal },
    );
    if (result.cancelled) outcome = 'stopped';
    else if (!opts.insert && !ended) await Promise.race([endSeen, new Promise((r) => setTimeout(r, DRAIN_MS))]);
    if (opts.insert) {
      const written = result.operators.filter((m) => m.kind === 'sink').reduce((s, m) => s + m.recordsIn, 0);
      out(`[INFO] INSERT ${outcome}: ${written} rows written in ${(result.durationMs / 1000).toFixed(1)} s\n`);
    }
  } catch (err) {
    if (controller.signal.aborted) outcome = 'stopped';
    else {
      outcome = 'failed';
      failure = err;
    }
  } finally {
    clearInterval(timer);
    process.off('SIGINT', stop);
    if (raw) {
      o.input.off('data', onKey);
      o.input.setRawMode(false);
      o.input.pause();
    }
  }
  // Changes already posted by the sink arrive on this thread's next turns.
  if (outcome === 'stopped') await new Promise((r) => setTimeout(r, 50));
  bc.close();
  if (!opts.insert) draw(outcome);
  if (failure !== undefined) throw failure;
}
