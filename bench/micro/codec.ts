/** Batch codec: records/s through BatchEncoder.encode and BatchDecoder.decode for two record shapes. */
import { BatchDecoder, BatchEncoder } from '../../core/channel/codec.js';
import { runGroup, type MicroRow } from './tiny.js';

const BATCH = 512;

const SHAPES: Record<string, (i: number) => unknown> = {
  // The keyed-count record.
  '{key, value}': (i) => ({ key: i % 10_000, value: i }),
  // A wider event: a string key, a count and a float timestamp.
  '{word, count, ts}': (i) => ({ word: `w${i % 10_000}`, count: i, ts: 1_700_000_000_000 + i * 0.37 }),
};

export async function benchCodec(timeMs: number): Promise<MicroRow[]> {
  const tasks = Object.entries(SHAPES).flatMap(([shape, make]) => {
    const records = Array.from({ length: BATCH }, (_, i) => make(i));
    const encoder = new BatchEncoder();
    const decoder = new BatchDecoder();
    // encode() reuses its buffer: keep a copy for the decode task.
    const bytes = Uint8Array.from(new BatchEncoder().encode(records));
    let sink = 0;
    return [
      {
        name: `encode ${shape}`,
        unitsPerCall: BATCH,
        fn: () => (sink += encoder.encode(records).length),
        extra: () => ({ batchBytes: bytes.length }),
      },
      {
        name: `decode ${shape}`,
        unitsPerCall: BATCH,
        fn: () => (sink += decoder.decode(bytes).length),
        extra: () => ({ batchBytes: bytes.length }),
      },
    ];
  });
  return runGroup('codec', 'records', timeMs, tasks);
}
