/**
 * `Sources.nexmark({ events, rate? })`: the Nexmark event stream. Subtask s of p makes event
 * ids s, s+p, s+2p, … (the generator source's strided split, with its checkpointed offsets and
 * exact rewind), so every subtask's event time rises at the same pace and the union is the
 * same at any parallelism. The queries' watermark is `eventTime(e) - NEXMARK_WATERMARK_DELAY_MS`.
 */
import { EddyError } from '../../../failure.js';
import type { Source } from '../../types.js';
import { generator } from '../generator.js';
import { resolveConfig, type NexmarkOptions } from './config.js';
import { eventMaker } from './event.js';
import type { NexmarkEvent } from './model.js';

/** The Nexmark generator as a bounded, parallel, checkpointed source of `events` events. */
export function nexmark(options: NexmarkOptions): Source<NexmarkEvent> {
  const config = resolveConfig(options);
  const { emitRate } = options;
  if (emitRate !== undefined && !(emitRate > 0 && Number.isFinite(emitRate))) {
    throw new EddyError('JOB_INVALID', `nexmark: emitRate must be a positive number of events per second, got ${emitRate}`);
  }
  let make: ((id: number) => NexmarkEvent) | undefined;
  // The tables (1 MiB padding, channel urls) are built on first use, in the worker that needs them.
  const src = generator<NexmarkEvent>({ count: config.events, rate: emitRate, fn: (id) => (make ??= eventMaker(config))(id) });
  return { ...src, kind: 'nexmark' };
}
