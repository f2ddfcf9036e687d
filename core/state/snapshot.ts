/** State snapshots and restores with rescaling: the one import for the checkpoint side. */
export { snapshotKeyedStore } from './heap/heap-snapshot.js';
export { restoreKeyedStore, restoreKeyedChains } from './keyed-restore.js';
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
