/**
 * The snapshot packer thread (see snapshot-packer.ts): per open snapshot a GroupPacker, fed the
 * captured key groups in any order; on `finish` the whole snapshot's bytes are written into
 * the loop's shared output buffer, and their index and CRC-32 (taken here, not on the loop)
 * go back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { helperReplies } from '../../helper-reply.js';
import { announceThread } from '../../thread-roles.js';
import { GroupPacker } from './captured-group.js';
import { scanNumericTables } from './numeric-scan.js';
import type { PackerReply, PackerRequest } from './snapshot-packer.js';
import { growOutput } from './output-pool.js';
import { messageOf } from '../../failure.js';

const open = new Map<number, GroupPacker>();
const port = parentPort!;
const reply = helperReplies();
announceThread({ role: 'packer', name: String(workerData?.owner ?? '') });

port.on('message', (m: PackerRequest) => {
  try {
    if (m.type === 'open') open.set(m.job, new GroupPacker(m.rangeStart, m.tables, m.log));
    else if (m.type === 'group') open.get(m.job)!.add(m.group);
    else if (m.type === 'scan') open.get(m.job)!.addScanned(scanNumericTables(m.scan));
    else {
      // The bytes go into the loop's output buffer, or a bigger one made here (sent back once, then pooled there).
      let grown: SharedArrayBuffer | undefined;
      const snap = open.get(m.job)!.finish(m.keyGroups, (bytes) => {
        if (m.output !== undefined && m.output.byteLength >= bytes) return new Uint8Array(m.output, 0, bytes);
        grown = growOutput(bytes);
        return new Uint8Array(grown, 0, bytes);
      });
      open.delete(m.job);
      const packed = { keyGroups: snap.keyGroups, index: snap.index, bytes: snap.data.byteLength, crc32: crc32(snap.data) >>> 0 };
      reply({ job: m.job, packed, grown } satisfies PackerReply);
    }
  } catch (err) {
    open.delete(m.job);
    reply({ job: m.job, error: messageOf(err) } satisfies PackerReply);
  }
});
