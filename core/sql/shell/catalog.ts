/**
 * What the shell asks of the SQL layer for the statements it answers itself: the session's
 * catalog (DDL run at once, tables listed and described), EXPLAIN, and the columns of a query
 * before it runs. The statements so far are also kept as text, since a query runs as a job
 * whose every worker rebuilds the catalog from them.
 */
import type { ResultColumn } from './render.js';

export interface ShellCatalog {
  /** Runs a DDL statement (CREATE TABLE / VIEW …); returns the line to print; throws a clear EddyError. */
  ddl(statement: string): string;
  /** Names of the tables and views, sorted. */
  tables(): string[];
  /** The columns of table or view `name` with their SQL types. */
  describe(name: string): ResultColumn[];
  /** The plan of `EXPLAIN …` as text. */
  explain(statement: string): string;
  /** The columns a SELECT yields (checking it against the catalog first). */
  columns(select: string): ResultColumn[];
  /** Every DDL statement run so far, as one script (each ended by `;`). */
  script(): string;
}
