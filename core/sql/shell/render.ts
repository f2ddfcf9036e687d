/**
 * Lays a materialized result out as the lines of one screen: a header, a rule, the newest rows
 * that fit the height, a status line, each line within the width. Pure: the shell writes the
 * lines (and the cursor movement between two frames, see `redraw`); tests read them.
 *
 *    auction | num
 *   ---------+-----
 *       1007 |   3
 *   12 rows (showing 1-12) · 340 changes · 3.2 s · running · q to stop
 */
import type { MaterializedTable, ResultRow } from './result-table.js';

/** A column as the result's schema names it; `type` is its SQL type (TIMESTAMP values are shown as dates). */
export interface ResultColumn {
  name: string;
  type?: string;
}

export interface FrameOptions {
  /** Terminal columns: no line is longer than width - 1 (a full line would wrap on some terminals). */
  width: number;
  /** Terminal rows: the frame has at most height - 1 lines, so a redraw can move back to its top. */
  height: number;
  /** The status line's tail, e.g. 'running · q to stop'. */
  status: string;
  elapsedMs?: number;
}

/** Widest a column gets before values are cut (Flink's table mode cuts too). */
export const MAX_COLUMN_WIDTH = 30;
const MIN_COLUMN_WIDTH = 3;
const SEPARATOR = ' | ';
const ELLIPSIS = '~';

/** A value as the table shows it: NULL, TIMESTAMP(3) as 'yyyy-MM-dd HH:mm:ss.SSS' (UTC), the rest as text. */
export function formatValue(value: unknown, type?: string): string {
  if (value === null || value === undefined) return 'NULL';
  if (type !== undefined && /^TIMESTAMP/i.test(type) && typeof value === 'number')
    return new Date(value).toISOString().replace('T', ' ').replace('Z', '');
  if (value instanceof Date) return value.toISOString().replace('T', ' ').replace('Z', '');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function fit(text: string, width: number, right: boolean): string {
  if (text.length > width) return width <= 1 ? text.slice(0, width) : text.slice(0, width - 1) + ELLIPSIS;
  return right ? text.padStart(width) : text.padEnd(width);
}

/** Column widths within `width`: natural widths capped, then the widest cut until the line fits. */
export function columnWidths(natural: number[], width: number): number[] {
  const w = natural.map((n) => Math.min(Math.max(n, 1), MAX_COLUMN_WIDTH));
  const total = () => w.reduce((s, x) => s + x, 0) + SEPARATOR.length * Math.max(0, w.length - 1);
  while (total() > width) {
    let widest = 0;
    for (let i = 1; i < w.length; i++) if (w[i] > w[widest]) widest = i;
    if (w[widest] <= MIN_COLUMN_WIDTH) break;
    w[widest]--;
  }
  return w;
}

/** The lines of one frame of `table`. */
export function renderFrame(table: MaterializedTable, columns: ResultColumn[], o: FrameOptions): string[] {
  const maxLine = Math.max(1, o.width - 1);
  const bodyRows = Math.max(0, o.height - 1 - 3); // header, rule, status
  const rows = table.tail(bodyRows);
  const cells = rows.map((r: ResultRow) => columns.map((c) => formatValue(r[c.name], c.type)));
  // Numbers right-aligned, as the SQL client does: a column whose shown values are all numbers.
  const numeric = columns.map(
    (c) =>
      rows.some((r) => typeof r[c.name] === 'number') &&
      rows.every((r) => r[c.name] === null || r[c.name] === undefined || typeof r[c.name] === 'number') &&
      !/^TIMESTAMP/i.test(c.type ?? ''),
  );
  const natural = columns.map((c, i) => Math.max(c.name.length, ...cells.map((row) => row[i].length)));
  const widths = columnWidths(natural, maxLine);
  const line = (parts: string[]) => parts.join(SEPARATOR).slice(0, maxLine).trimEnd();
  const lines = [
    line(columns.map((c, i) => fit(c.name, widths[i], numeric[i]))),
    widths
      .map((w) => '-'.repeat(w))
      .join('-+-')
      .slice(0, maxLine),
    ...cells.map((row) => line(row.map((v, i) => fit(v, widths[i], numeric[i])))),
  ];
  const first = table.size - rows.length + 1;
  const shown = rows.length === 0 ? 'none shown' : `showing ${first}-${table.size}`;
  const time = o.elapsedMs === undefined ? '' : ` · ${(o.elapsedMs / 1000).toFixed(1)} s`;
  lines.push(`${table.size} rows (${shown}) · ${table.changes} changes${time} · ${o.status}`.slice(0, maxLine));
  return lines;
}

/**
 * What to write to replace a frame of `previousLines` lines (the cursor on the line after it)
 * with `lines`: up to the old frame's first line, clear to the end of the screen, the new frame.
 */
export function redraw(previousLines: number, lines: string[]): string {
  const back = previousLines > 0 ? `\x1b[${previousLines}F\x1b[J` : '';
  return `${back}${lines.join('\n')}\n`;
}
