/** The shape of one invocation's results (the JSON file, and what the Markdown report is made from). */
import type { StateBenchResult } from '../state.js';
import type { StateScaleResult } from '../state-scale.js';
import type { WindowsResult } from '../windows.js';
import type { NexmarkResult } from '../nexmark.js';
import type { BackpressureResult } from '../backpressure.js';
import type { CheckpointModesResult } from '../checkpoint-modes.js';
import type { LatencyResult } from '../latency.js';
import type { MicroRow } from '../micro/tiny.js';
import type { KeyedCountResult } from '../pipeline-keyed-count.js';
import type { ScalingResult } from '../scaling.js';

import type { ConnectorsResult } from '../connectors.js';

export interface SuiteResults {
  micro?: MicroRow[];
  keyedCount?: KeyedCountResult;
  /** One result per run length: the long intervals need longer runs (each group has its own `none`). */
  checkpointModes?: CheckpointModesResult[];
  backpressure?: BackpressureResult;
  latency?: LatencyResult;
  scaling?: ScalingResult;
  windows?: WindowsResult;
  state?: StateBenchResult;
  nexmark?: NexmarkResult;
  connectors?: ConnectorsResult;
  stateScale?: StateScaleResult;
}

export interface RunInfo {
  command: string;
  node: string;
  date: string;
  finished: string;
  platform: string;
  cpus: { available: number; model?: string };
  /** 1-minute load average at the start and the end: other processes share the cores. */
  loadAvg: { start: number; end: number };
  quick: boolean;
  suites: string[];
  errors: Array<{ suite: string; message: string }>;
}
