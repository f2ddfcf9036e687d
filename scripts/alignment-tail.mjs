#!/usr/bin/env node
// The tail of alignment without backpressure: keyed count at parallelism 2, exactly-once every
// 100 ms, the source paced to RATE records/s for SECONDS, after a warm-up job; prints the six
// checkpoints with the longest alignment, with their other phases, and p50/p99.
//   npm run build && node scripts/alignment-tail.mjs [rate=7000000] [seconds=20]
const { runJob } = await import(new URL('../dist/core/index.js', import.meta.url).href);
const job = new URL('../bench/jobs/keyed-count.mjs', import.meta.url).pathname;
const rate = Number(process.argv[2] ?? 7_000_000);
const seconds = Number(process.argv[3] ?? 20);
const options = { parallelism: 2, mode: 'exactly-once', checkpointIntervalMs: 100 };
await runJob(job, { ...options, args: { count: '2000000', keys: '10000' } });
const res = await runJob(job, { ...options, args: { count: String(rate * seconds), keys: '10000', rate: String(rate) } });
const steady = res.checkpoints.filter((k) => !k.final);
const worst = [...steady].sort((a, b) => b.alignmentMs - a.alignmentMs).slice(0, 6);
for (const k of worst) {
  console.log(
    `checkpoint ${k.id}: alignment ${k.alignmentMs.toFixed(1)} ms, start delay ${k.startDelayMs} ms, sync ${k.syncMs.toFixed(1)} ms, async ${k.asyncMs.toFixed(1)} ms, duration ${k.durationMs} ms`,
  );
}
const sorted = steady.map((k) => k.alignmentMs).sort((a, b) => a - b);
const at = (p) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)].toFixed(2);
console.log(`${steady.length} checkpoints: alignment p50 ${at(50)} ms, p99 ${at(99)} ms`);
