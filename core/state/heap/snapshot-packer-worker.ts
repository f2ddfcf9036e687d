/**
 * The snapshot packer thread (see snapshot-packer.ts): per open snapshot a GroupPacker, fed the
 * captured key groups in any order; on `finish` the whole snapshot's bytes go back
 * (transferred, not copied) with their index and CRC-32, taken here rather than on the loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { announceThread } from '../../thread-roles.js';
import { GroupPacker } from './captured-group.js';
import type { PackerReply, PackerRequest } from './snapshot-packer.js';

const open = new Map<number, GroupPacker>();
const port = parentPort!;
announceThread({ role: 'packer', name: String(workerData?.owner ?? '') });

port.on('message', (m: PackerRequest) => {
  try {
    if (m.type === 'open') open.set(m.job, new GroupPacker(m.rangeStart, m.tables, m.log));
    else if (m.type === 'group') open.get(m.job)!.add(m.group);
    else {
      const snap = open.get(m.job)!.finish(m.keyGroups);
      open.delete(m.job);
      snap.crc32 = crc32(snap.data) >>> 0;
      const reply: PackerReply = { job: m.job, snapshot: snap };
      port.postMessage(reply, [snap.data.buffer as ArrayBuffer]);
    }
  } catch (err) {
    open.delete(m.job);
    const reply: PackerReply = { job: m.job, error: err instanceof Error ? err.message : String(err) };
    port.postMessage(reply);
  }
});
