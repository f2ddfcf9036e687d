/**
 * When a busy task loop gives its thread's event loop a turn. Control messages, timers and
 * async I/O of the worker are served only then, so the loop yields every YIELD_EVERY
 * iterations even when input never runs dry, and more often while a snapshot is being
 * written: once after each step of the write moved, and every YIELD_WRITING_MS while a step
 * waits for the event loop.
 */
import { pollHelperReplies } from '../core/helper-thread.js';
import type { TaskCheckpointer } from './checkpointing.js';

const YIELD_EVERY = 32;
/**
 * While a snapshot write needs the event loop (async fs calls, a sink's pre-commit, a keyed
 * capture in slices), yield at least this often (ms). At YIELD_EVERY alone a busy loop (32
 * batches, ~10 ms) kept a 10k-key checkpoint waiting ~110 ms for the loop to come round; at
 * 0.25 ms it takes ~20 ms, and throughput did not move (bench checkpoint-modes). Writes on
 * helper threads need no yield: their replies are polled between frames.
 */
const YIELD_WRITING_MS = 0.25;

export const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class EventLoopTurns {
  /** When the loop last yielded for a snapshot being written (performance.now). */
  private lastWriteYield = 0;

  constructor(private readonly checkpointer: TaskCheckpointer | undefined) {}

  /** After iteration `iter`: whether to yield now. */
  due(iter: number): boolean {
    return iter % YIELD_EVERY === 0 || this.dueForWrite();
  }

  /**
   * A snapshot is being written: takes the helper threads' replies. True (yield now) once
   * after a step of the write moved (a reply taken, a barrier located: the write goes on in
   * microtasks, which one yield runs all of), and every YIELD_WRITING_MS while a step needs
   * the event loop.
   */
  private dueForWrite(): boolean {
    const c = this.checkpointer;
    if (c === undefined || !c.writing) return false;
    const moved = pollHelperReplies() || c.takeProgress();
    const now = performance.now();
    if (moved) {
      this.lastWriteYield = now;
      return true;
    }
    if (!c.needsEventLoop || now - this.lastWriteYield < YIELD_WRITING_MS) return false;
    this.lastWriteYield = now;
    return true;
  }

  /**
   * Between two chunks of a record frame: true if a write wants the loop before the next
   * chunk — a helper's reply was taken, or a step moved since the last yield (a snapshot just
   * began, a barrier was located): what follows it, up to the file posted to the writer thread
   * and the ack, waits for the yield, and the rest of a 2048-record frame at the backpressure
   * bench's 5 µs a record is 10 ms.
   */
  pauseForWrite(): boolean {
    const c = this.checkpointer;
    if (c === undefined || !c.writing) return false;
    if (pollHelperReplies()) {
      c.noteProgress();
      return true;
    }
    if (c.progressPending) return true;
    return c.needsEventLoop && performance.now() - this.lastWriteYield >= YIELD_WRITING_MS;
  }
}
