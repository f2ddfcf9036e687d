/**
 * What a completed checkpoint records (filled by the coordinator from the tasks' acks), and the
 * envelope that makes the `_metadata` file self-verifying:
 *
 *   {
 *     "version": 1,
 *     "checksum": "crc32:1a2b3c4d",     ← checksum of JSON.stringify(body), the compact form
 *     "body": { "id": 3, ... }          ← CheckpointMetadata, pretty-printed for people
 *   }
 *
 * The checksum covers the compact re-serialisation of the parsed body rather than the bytes of
 * the file, so the file can stay readable (indented) while any change to a value is detected.
 * JSON.parse → JSON.stringify reproduces JSON.stringify's own output exactly (same key order,
 * same shortest number form), so the check is stable.
 */
import { EddyError } from '../failure.js';
import type { KeyGroupIndex } from '../state/snapshot-format.js';
import { checksumOf, isSupportedChecksum } from './checksum.js';

/**
 * 3 when a handle names a piece of a task file (`offset`, see StateFileHandle): an older eddy,
 * which would read the whole file as the piece, refuses it instead. 2 when the checkpoint holds
 * in-flight data (`channels`) in whole files: an older eddy then refuses it instead of restoring
 * it without that data. Everything else is written as 1.
 */
export const METADATA_VERSION = 3;
const CHANNELS_VERSION = 2;
const OLDEST_READABLE_VERSION = 1;

/**
 * One durable piece of state: a whole file (checkpoints written before task files, savepoints),
 * or with `offset` the `bytes` bytes at `offset` of a task file, which holds every piece a task
 * wrote for one checkpoint one after the other (see core/checkpoint/task-file.ts). `bytes` and
 * `checksum` are the piece's own.
 */
export interface StateFileHandle {
  /** Relative to the checkpoint directory root, e.g. 'chk-3/count-1-keyed.bin' or 'chk-3/2-count-1.bin'. */
  file: string;
  bytes: number;
  checksum: string;
  /** Where the piece starts in `file`; absent: the piece is the whole file. */
  offset?: number;
}

/** What names one piece among the pieces of all files: the file, and the piece's offset in it if it has one. */
export function pieceKey(file: string, offset: number | undefined): string {
  return offset === undefined ? file : `${file}@${offset}`;
}

/**
 * The checksum of a file acknowledged while its writer thread still writes it (see
 * CheckpointStorage.handOffStateFile): the coordinator fills in the real one from the writer's
 * notice before any metadata is written, so it never reaches a `_metadata` file.
 */
export const PENDING_CHECKSUM = 'pending';

/** A keyed-state snapshot file and where each of its key groups is inside it. */
export interface KeyedStateHandle {
  file: StateFileHandle;
  keyGroups: { start: number; end: number };
  /** Only key groups that hold state; a restore at another parallelism reads just its own. */
  index: KeyGroupIndex;
  /**
   * Incremental checkpoints: the changes since `file` (the base, a full snapshot, possibly in
   * an older checkpoint's folder), oldest first, each in the delta chunk format. Restore is
   * base, then every delta in order. Absent in full checkpoints (and in older metadata).
   */
  deltas?: { file: StateFileHandle; index: KeyGroupIndex }[];
}

export interface SubtaskStateHandles {
  subtask: number;
  keyed?: KeyedStateHandle;
  operator?: StateFileHandle;
}

export interface OperatorStateHandles {
  uid: string;
  parallelism: number;
  subtasks: SubtaskStateHandles[];
}

/**
 * One edge of the graph that took an unaligned checkpoint, as a task holding in-flight data
 * saw it: what a restore at another parallelism needs to find the edge in the new graph and
 * to know where the stored records on it belong (channel-redistribution.ts).
 */
export interface ChannelEdgeInfo {
  /** The edge's id in that graph: what the in-flight data file's entries name. */
  id: number;
  /** Stream node ids of the producing and the consuming operator (stable while the job module is the same). */
  fromNode: number;
  toNode: number;
  sideTag?: string;
  inputSide?: number;
  /** Producer and consumer task (vertex) names, the chains, and their parallelism then. */
  from: string;
  to: string;
  producers: number;
  consumers: number;
  partitioner: 'forward' | 'rebalance' | 'hash' | 'broadcast';
  /** Payload bytes this task's file holds on the edge (0: none). */
  bytes: number;
}

/** The in-flight data of one task (vertex subtask) in an unaligned checkpoint (see channel-state.ts). */
export interface ChannelStateHandle {
  /** The task's vertex: its id in the job graph and its display name (the chain's head). */
  vertexId: number;
  vertex: string;
  subtask: number;
  parallelism: number;
  file: StateFileHandle;
  /** Payload bytes of the frames in it (what inFlightBytes counts). */
  bytes: number;
  /**
   * Every input and output edge of the task (absent in checkpoints of an eddy that could not
   * rescale in-flight data: those restore only at the same parallelism).
   */
  edges?: ChannelEdgeInfo[];
}

export interface CheckpointMetadata {
  id: number;
  /** Wall-clock ms when the checkpoint was triggered. */
  timestamp: number;
  durationMs: number;
  kind: 'checkpoint' | 'savepoint';
  maxParallelism: number;
  operators: OperatorStateHandles[];
  /** Set on an unaligned checkpoint (its barriers overtook in-flight data). */
  unaligned?: boolean;
  /**
   * Set on the final checkpoint of a bounded job: every operator had finished (Flink's fully
   * finished operators, FLIP-147), so it holds no keyed state, only operator state (source
   * positions at their end, sinks' transactions to re-commit).
   */
  finished?: boolean;
  /** In-flight data per task (unaligned checkpoints only; absent when there was none). */
  channels?: ChannelStateHandle[];
}

/** Every state file a checkpoint references, in metadata order. */
export function referencedFiles(metadata: CheckpointMetadata): StateFileHandle[] {
  const files: StateFileHandle[] = [];
  for (const op of metadata.operators) {
    for (const st of op.subtasks) {
      if (st.keyed) files.push(st.keyed.file);
      for (const d of st.keyed?.deltas ?? []) files.push(d.file);
      if (st.operator) files.push(st.operator);
    }
  }
  for (const c of metadata.channels ?? []) files.push(c.file);
  return files;
}

/** A copy of `metadata` with every state file handle replaced by `f(handle)`. */
export function mapStateFiles(metadata: CheckpointMetadata, f: (h: StateFileHandle) => StateFileHandle): CheckpointMetadata {
  return {
    ...metadata,
    operators: metadata.operators.map((op) => ({
      ...op,
      subtasks: op.subtasks.map((st) => ({
        ...st,
        keyed: st.keyed
          ? { ...st.keyed, file: f(st.keyed.file), deltas: st.keyed.deltas?.map((d) => ({ ...d, file: f(d.file) })) }
          : undefined,
        operator: st.operator ? f(st.operator) : undefined,
      })),
    })),
    ...(metadata.channels ? { channels: metadata.channels.map((c) => ({ ...c, file: f(c.file) })) } : {}),
  };
}

export function encodeMetadata(metadata: CheckpointMetadata): string {
  const checksum = checksumOf(JSON.stringify(metadata));
  const version = referencedFiles(metadata).some((h) => h.offset !== undefined)
    ? METADATA_VERSION
    : metadata.channels !== undefined && metadata.channels.length > 0
      ? CHANNELS_VERSION
      : OLDEST_READABLE_VERSION;
  return JSON.stringify({ version, checksum, body: metadata }, null, 2) + '\n';
}

/**
 * Parses and verifies a `_metadata` file's text. `where` names the file in errors; `expectedId`
 * is the id its directory says it has (a metadata file copied into the wrong chk-N is corrupt);
 * a savepoint's directory name says nothing, so it has none.
 */
export function decodeMetadata(text: string, where: string, expectedId?: number): CheckpointMetadata {
  const corrupt = (why: string) => new EddyError('CHECKPOINT_CORRUPT', `checkpoint metadata ${where} is corrupt: ${why}`);
  let envelope: unknown;
  try {
    envelope = JSON.parse(text);
  } catch (err) {
    throw corrupt(`not valid JSON (${(err as Error).message}; ${Buffer.byteLength(text)} bytes)`);
  }
  if (!isObject(envelope) || !('body' in envelope) || !isObject(envelope.body)) {
    throw corrupt('no metadata body in the envelope');
  }
  if (typeof envelope.version !== 'number' || envelope.version < OLDEST_READABLE_VERSION || envelope.version > METADATA_VERSION) {
    throw corrupt(
      `version ${JSON.stringify(envelope.version)}, this eddy reads versions ${OLDEST_READABLE_VERSION} to ${METADATA_VERSION}`,
    );
  }
  if (!isSupportedChecksum(envelope.checksum)) {
    throw corrupt(`unreadable checksum ${JSON.stringify(envelope.checksum)}`);
  }
  const actual = checksumOf(JSON.stringify(envelope.body));
  if (actual !== envelope.checksum) {
    throw corrupt(`checksum mismatch: expected ${envelope.checksum}, actual ${actual}`);
  }
  const body = envelope.body as unknown as CheckpointMetadata;
  const shapeError = checkShape(body);
  if (shapeError) throw corrupt(shapeError);
  if (expectedId !== undefined && body.id !== expectedId)
    throw corrupt(`it describes checkpoint ${body.id}, but lies in the directory of checkpoint ${expectedId}`);
  return body;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

const PARTITIONERS = new Set(['forward', 'rebalance', 'hash', 'broadcast']);

function isEdgeInfo(e: unknown): boolean {
  return (
    isObject(e) &&
    [e.id, e.fromNode, e.toNode, e.producers, e.consumers, e.bytes].every(isCount) &&
    typeof e.from === 'string' &&
    typeof e.to === 'string' &&
    PARTITIONERS.has(e.partitioner as string) &&
    (e.sideTag === undefined || typeof e.sideTag === 'string') &&
    (e.inputSide === undefined || isCount(e.inputSide))
  );
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function handleError(h: unknown, what: string): string | undefined {
  if (!isObject(h) || typeof h.file !== 'string' || !isCount(h.bytes) || !isSupportedChecksum(h.checksum)) {
    return `${what} is not a state file handle {file, bytes, checksum}`;
  }
  if (h.offset !== undefined && !isCount(h.offset)) return `${what} has an offset that is not a byte count`;
  return undefined;
}

/**
 * The checksum proves the body is what was written; this proves it is something this version
 * can act on, so a restore fails here with a clear message rather than deep inside.
 */
function checkShape(b: CheckpointMetadata): string | undefined {
  if (!isCount(b.id) || typeof b.timestamp !== 'number' || !isCount(b.maxParallelism) || !Array.isArray(b.operators)) {
    return 'the body lacks id, timestamp, maxParallelism or operators';
  }
  for (const op of b.operators) {
    if (!isObject(op) || typeof op.uid !== 'string' || !isCount(op.parallelism) || !Array.isArray(op.subtasks)) {
      return 'an operator entry lacks uid, parallelism or subtasks';
    }
    for (const st of op.subtasks) {
      const at = `operator '${op.uid}' subtask ${isObject(st) ? String(st.subtask) : '?'}`;
      if (!isObject(st) || !isCount(st.subtask)) return `a subtask entry of operator '${op.uid}' lacks its index`;
      if (st.operator !== undefined) {
        const e = handleError(st.operator, `the operator state of ${at}`);
        if (e) return e;
      }
      if (st.keyed !== undefined) {
        const k = st.keyed as unknown;
        if (!isObject(k) || !isObject(k.keyGroups) || !Array.isArray(k.index)) return `the keyed state of ${at} lacks keyGroups or index`;
        const e = handleError(k.file, `the keyed state file of ${at}`);
        if (e) return e;
        for (const entry of k.index) {
          if (!Array.isArray(entry) || entry.length !== 3 || !entry.every(isCount))
            return `the key-group index of ${at} has a malformed entry`;
        }
        if (k.deltas !== undefined) {
          if (!Array.isArray(k.deltas)) return `the keyed state deltas of ${at} are not a list`;
          for (const d of k.deltas as unknown[]) {
            if (!isObject(d) || !Array.isArray(d.index)) return `a keyed state delta of ${at} lacks its index`;
            const de = handleError(d.file, `a keyed state delta file of ${at}`);
            if (de) return de;
            for (const entry of d.index) {
              if (!Array.isArray(entry) || entry.length !== 3 || !entry.every(isCount))
                return `the key-group index of a delta of ${at} has a malformed entry`;
            }
          }
        }
      }
    }
  }
  if (b.unaligned !== undefined && typeof b.unaligned !== 'boolean') return 'unaligned is not true or false';
  if (b.finished !== undefined && typeof b.finished !== 'boolean') return 'finished is not true or false';
  if (b.channels !== undefined) {
    if (!Array.isArray(b.channels)) return 'the in-flight data entries are not a list';
    for (const c of b.channels as unknown[]) {
      if (
        !isObject(c) ||
        typeof c.vertex !== 'string' ||
        !isCount(c.vertexId) ||
        !isCount(c.subtask) ||
        !isCount(c.parallelism) ||
        !isCount(c.bytes)
      ) {
        return 'an in-flight data entry lacks vertex, subtask, parallelism or bytes';
      }
      const e = handleError(c.file, `the in-flight data file of '${c.vertex}' subtask ${c.subtask}`);
      if (e) return e;
      if (c.edges !== undefined && !(Array.isArray(c.edges) && c.edges.every(isEdgeInfo)))
        return `the edges of the in-flight data of '${c.vertex}' subtask ${c.subtask} are malformed`;
    }
  }
  return undefined;
}
