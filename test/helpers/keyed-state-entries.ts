// What an operator's keyed state holds in a completed checkpoint, read from the files
// themselves (metadata, state files, key-group chunks), not from anything the engine reports.
import { resumePoint } from '../../core/checkpoint/restore-point.js';
import { CheckpointStorage } from '../../core/checkpoint/storage.js';
import { storedRowCount } from '../../core/sql/runtime/older-join-rows.js';
import { forEachKeyGroupChunk, type KeyedSnapshotPart } from '../../core/state/snapshot-format.js';

/**
 * Entries per state table of operator `uid` in the newest complete checkpoint of `dir` (full
 * snapshots): a value counts 1, a map or list counts its elements. Tables without entries are
 * absent. Also the number of keyed-state bytes.
 */
export async function keyedEntriesByTable(
  dir: string,
  uid: string,
): Promise<{ checkpointId: number; entries: Record<string, number>; bytes: number }> {
  const rp = await resumePoint(dir, 'latest');
  if (!rp) throw new Error(`no complete checkpoint in ${dir}`);
  const op = rp.metadata.operators.find((o) => o.uid === uid);
  if (!op) throw new Error(`checkpoint ${rp.id} has no operator '${uid}'`);
  const storage = new CheckpointStorage(rp.root);
  const entries: Record<string, number> = {};
  let bytes = 0;
  for (const st of op.subtasks) {
    if (!st.keyed) continue;
    if (st.keyed.deltas?.length) throw new Error('keyedEntriesByTable reads full snapshots only');
    bytes += st.keyed.file.bytes;
    const part: KeyedSnapshotPart = { data: await storage.readStateFile(st.keyed.file), index: st.keyed.index };
    forEachKeyGroupChunk([part], { start: 0, end: rp.metadata.maxParallelism - 1 }, (_kg, chunk) => {
      const e = chunk.entries;
      for (let i = 0; i < e.length; i += 3) {
        const [name, kind] = chunk.tables[e[i] as number];
        // A SQL join's list from an older checkpoint holds its rows encoded: counted row by row.
        const n = kind === 'list' ? storedRowCount(e[i + 2] as unknown[]) : kind === 'map' ? (e[i + 2] as unknown[]).length : 1;
        if (n > 0) entries[name] = (entries[name] ?? 0) + n;
      }
    });
  }
  return { checkpointId: rp.id, entries, bytes };
}
