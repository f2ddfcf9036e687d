/**
 * The snapshot packer thread (see snapshot-packer.ts): per open snapshot a GroupPacker, fed the
 * captured key groups in any order; on `finish` the whole snapshot's bytes go back
 * (transferred, not copied) with their index.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { helperReplies } from '../../helper-reply.js';
import { announceThread } from '../../thread-roles.js';
import { GroupPacker } from './captured-group.js';
import { chunkBuffers, type PackerReply, type PackerRequest } from './snapshot-packer.js';
import type { LogChunk } from './write-log.js';

const open = new Map<number, { packer: GroupPacker; log: LogChunk[] | undefined }>();
const port = parentPort!;
const reply = helperReplies();
announceThread({ role: 'packer', name: String(workerData?.owner ?? '') });

port.on('message', (m: PackerRequest) => {
  try {
    if (m.type === 'open') open.set(m.job, { packer: new GroupPacker(m.rangeStart, m.tables, m.log), log: m.log });
    else if (m.type === 'group') open.get(m.job)!.packer.add(m.group);
    else {
      const { packer, log } = open.get(m.job)!;
      const snap = packer.finish(m.keyGroups);
      open.delete(m.job);
      // The captured groups' buffers and the log's copies go back for the next ones to reuse.
      const spare = [...new Set(packer.spare)];
      reply({ job: m.job, snapshot: snap, spare, log } satisfies PackerReply, [snap.data.buffer as ArrayBuffer, ...spare, ...(log?.flatMap(chunkBuffers) ?? [])]);
    }
  } catch (err) {
    open.delete(m.job);
    reply({ job: m.job, error: err instanceof Error ? err.message : String(err) } satisfies PackerReply);
  }
});
