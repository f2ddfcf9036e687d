/**
 * The snapshot packer thread (see snapshot-packer.ts): receives captured key groups of heap
 * snapshots in any order, packs each into its chunk as it arrives, and on `finish` hands back the whole
 * snapshot's bytes (transferred, not copied) and index.
 */
import { parentPort } from 'node:worker_threads';
import { KeyedSnapshotWriter } from '../snapshot-format.js';
import { packCapturedGroup } from './captured-group.js';
import type { PackerReply, PackerRequest } from './snapshot-packer.js';

/** Per open job: key group → its chunk (groups arrive in capture order, files want ascending). */
const open = new Map<number, Map<number, Uint8Array>>();
const port = parentPort!;

port.on('message', (m: PackerRequest) => {
  try {
    if (m.type === 'group') {
      let chunks = open.get(m.job);
      if (chunks === undefined) open.set(m.job, (chunks = new Map()));
      chunks.set(m.group.kg, packCapturedGroup(m.group));
      return;
    }
    const writer = new KeyedSnapshotWriter();
    for (const [kg, bytes] of [...(open.get(m.job) ?? [])].sort((a, b) => a[0] - b[0])) writer.addEncoded(kg, bytes);
    const snap = writer.finish(m.keyGroups);
    open.delete(m.job);
    const reply: PackerReply = { job: m.job, snapshot: snap };
    port.postMessage(reply, [snap.data.buffer as ArrayBuffer]);
  } catch (err) {
    open.delete(m.job);
    const reply: PackerReply = { job: m.job, error: err instanceof Error ? err.message : String(err) };
    port.postMessage(reply);
  }
});
