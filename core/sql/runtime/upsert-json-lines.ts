/**
 * A changelog sink of JSON lines, committed by the engine's two-phase commit like
 * `Sinks.jsonLinesFile` (it is that writer underneath), and the reader that materializes the
 * table from the committed files.
 *
 * With a primary key (upsert mode) each line is an upsert (+I/+U) or a delete (-D) of a key and
 * -U is not written; without one (retract mode) every change is written and the table is the
 * multiset of rows inserted minus those retracted. A committed file is named
 *   changes-<checkpoint, 12 digits>-<subtask>-<runId>-<seq>.jsonl
 * by the checkpoint whose barrier sealed it (999999999999 for the end of a job without
 * checkpoints): checkpoint ids only grow, also across restores, and within one checkpoint a key
 * is written by one subtask in seq order, so (checkpoint, seq) is the order to replay in.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_ROLL_BYTES, JsonLinesWriter, makeDir } from '../../connectors/sinks/json-lines-file.js';
import type { ConnectorContext, Sink, SinkWriter } from '../../connectors/types.js';
import { EddyError, messageOf } from '../../failure.js';
import type { ChangeRow, Row, RowKind } from './changelog.js';
import { rowId } from './keys.js';
import { keyOf, markUpsertSink, type UpsertSink } from './sink-modes.js';

/** Options of {@link upsertJsonLinesFile}. */
export interface UpsertJsonLinesOptions {
  /** The primary key columns: a change replaces (or deletes) the row with the same key. Empty or absent: retract mode (every change kept). */
  key?: string[];
  /** Start a new part file once the current one has this many bytes. Default 64 MiB. */
  rollBytes?: number;
}

/** One committed line: with `key`, +I/+U upsert `row` under `key` and -D deletes `key`; without, the change as it came. */
export interface UpsertLine {
  /** The change; -U appears only in retract mode. */
  kind: RowKind;
  /** The primary key's values (upsert mode only). */
  key?: unknown[];
  /** The row (for -D the row deleted). */
  row: Row;
}

/** Stands for "after every checkpoint" in the name of files committed by a job without checkpoints. */
const END_OF_JOB = 999_999_999_999;
const CHECKPOINT_DIGITS = 12;
const COMMITTED = /^changes-(\d{12})-(\d+)-([0-9a-f]+)-(\d+)\.jsonl$/;

/** The committed name of part file `base` (part-<subtask>-<runId>-<seq>.jsonl) sealed by `checkpointId`. */
function committedName(checkpointId: number, base: string): string {
  const id = checkpointId < 0 ? END_OF_JOB : checkpointId;
  return `changes-${String(id).padStart(CHECKPOINT_DIGITS, '0')}-${base.replace(/^part-/, '')}`;
}

/**
 * A two-phase-commit sink writing a changelog into `dir` as JSON lines of {@link UpsertLine}.
 * Committed files are named by the checkpoint that committed them, so {@link readUpsertJsonLines}
 * replays them in order. Write to it with `sinkChangelog`, which keys the changes by the
 * primary key so that each key's changes reach one subtask in order.
 */
export function upsertJsonLinesFile(dir: string, opts: UpsertJsonLinesOptions = {}): UpsertSink {
  const key = opts.key ?? [];
  const rollBytes = opts.rollBytes ?? DEFAULT_ROLL_BYTES;
  if (!Array.isArray(key) || !key.every((k) => typeof k === 'string' && k !== '')) {
    throw new EddyError('JOB_INVALID', `upsertJsonLinesFile: key must be a list of column names, got ${JSON.stringify(opts.key)}`);
  }
  if (!(rollBytes > 0))
    throw new EddyError('JOB_INVALID', `upsertJsonLinesFile: rollBytes must be a positive number of bytes, got ${rollBytes}`);
  const sink: Sink<ChangeRow> = {
    kind: key.length > 0 ? 'upsertJsonLinesFile' : 'changelogJsonLinesFile',
    stateful: true,
    validate() {
      makeDir(dir);
    },
    createWriter(ctx: ConnectorContext): SinkWriter<ChangeRow> {
      const inner = new JsonLinesWriter<UpsertLine>(resolve(dir), ctx.subtaskIndex, rollBytes, committedName);
      const write =
        key.length === 0
          ? (c: ChangeRow) => inner.write({ kind: c.kind, row: c.row })
          : (c: ChangeRow) => {
              // The +U after it overwrites the key (Flink's upsert mode).
              if (c.kind !== '-U') inner.write({ kind: c.kind, key: keyOf(c.row, key), row: c.row });
            };
      return {
        open: () => inner.open(),
        write,
        prepareCommit: (id: number) => inner.prepareCommit(id),
        commit: (handles: unknown[]) => inner.commit(handles),
        finish: () => inner.finish(),
        abort: () => inner.abort(),
        close: () => inner.close(),
      };
    },
  };
  return markUpsertSink(sink, key);
}

/** Options of {@link readUpsertJsonLines}. */
export interface ReadUpsertOptions {
  /** Only files committed by this checkpoint or earlier: the table as of that checkpoint. */
  upToCheckpoint?: number;
}

/**
 * The table the committed files of an {@link upsertJsonLinesFile} sink in `dir` describe:
 * every line applied in commit order; upsert mode gives one row per live key, retract mode the
 * multiset of rows (a row twice if inserted twice). Rows come in no particular order.
 */
export function readUpsertJsonLines(dir: string, opts: ReadUpsertOptions = {}): Row[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new EddyError('INPUT_NOT_FOUND', `readUpsertJsonLines: cannot read directory '${dir}': ${messageOf(err)}`);
  }
  const files = names
    .map((name) => ({ name, m: COMMITTED.exec(name) }))
    .filter((f): f is { name: string; m: RegExpExecArray } => f.m !== null)
    .map((f) => ({ name: f.name, checkpoint: Number(f.m[1]), subtask: Number(f.m[2]), seq: Number(f.m[4]) }))
    .filter((f) => opts.upToCheckpoint === undefined || f.checkpoint <= opts.upToCheckpoint)
    .sort((a, b) => a.checkpoint - b.checkpoint || a.subtask - b.subtask || a.seq - b.seq);
  const upserts = new Map<string, Row>();
  const counts = new Map<string, { row: Row; n: number }>();
  for (const f of files) {
    const path = join(dir, f.name);
    const lines = readFileSync(path, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (lines[i] === '') continue;
      let c: UpsertLine;
      try {
        c = JSON.parse(lines[i]) as UpsertLine;
      } catch {
        throw new EddyError(
          'MALFORMED_RECORD',
          `readUpsertJsonLines: line ${i + 1} of '${path}' is not JSON; the file was not written by upsertJsonLinesFile or was changed`,
        );
      }
      if (c.key !== undefined) {
        const k = JSON.stringify(c.key);
        if (c.kind === '-D') upserts.delete(k);
        else upserts.set(k, c.row);
      } else {
        // Retract mode: rows counted with their sign; the order of files within a checkpoint does not matter.
        const id = rowId(c.row);
        const e = counts.get(id) ?? { row: c.row, n: 0 };
        e.n += c.kind === '+I' || c.kind === '+U' ? 1 : -1;
        counts.set(id, e);
      }
    }
  }
  const rows = [...upserts.values()];
  for (const { row, n } of counts.values()) {
    if (n < 0)
      throw new EddyError(
        'MALFORMED_RECORD',
        `readUpsertJsonLines: '${dir}' retracts the row ${JSON.stringify(row)} ${-n} more time(s) than it inserts it`,
      );
    for (let i = 0; i < n; i++) rows.push(row);
  }
  return rows;
}
