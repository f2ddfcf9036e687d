/** State snapshots and restores with rescaling: the one import for the checkpoint side. */
export { snapshotKeyedStore, restoreKeyedStore } from './heap/heap-snapshot.js';
export { snapshotOperatorState, restoreOperatorState, OPERATOR_SNAPSHOT_VERSION } from './operator-snapshot.js';
export {
  KEYED_SNAPSHOT_VERSION,
  forEachKeyGroupChunk,
  KeyedSnapshotWriter,
  type KeyGroupChunk,
  type KeyGroupIndex,
  type KeyedSnapshot,
  type KeyedSnapshotPart,
} from './snapshot-format.js';
