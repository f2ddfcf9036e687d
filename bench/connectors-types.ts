/** What the `connectors` bench suite measures: systems (a server per run of the suite) and cases. */

/** A running server of one system, for the cases that write into it. */
export interface SystemHandle {
  /** Job arguments that reach the server (e.g. the connection string). */
  args: Record<string, string>;
  /** Makes the target ready before a run writes into it (e.g. creates a JetStream stream). */
  prepare?(target: string): Promise<void>;
  /** How many records the run named `target` left in the system (and frees the target). */
  count(target: string): Promise<number>;
  stop(): Promise<void>;
}

export interface SinkSystem {
  /** Why the system cannot run here (binaries absent), or undefined. */
  skip: string | undefined;
  start(): Promise<SystemHandle>;
}

/** One measured configuration: a system, its sink mode, and the job that writes through it. */
export interface SinkCase {
  system: string;
  mode: string;
  job: string;
  /** Extra job arguments for this case; `target` names a fresh table / stream per run. */
  args(target: string): Record<string, string>;
  /** True when the system must end with exactly `records` records (no duplicates allowed). */
  exact: boolean;
}
