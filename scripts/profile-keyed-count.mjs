#!/usr/bin/env node
// The profile behind the keyed-count figures: warm up, then one keyed count job (generator →
// keyBy → count → discard) through the engine. Run it under the CPU profiler, which writes
// one profile per thread (main, source task, count task), then summarise them:
//
//   npm run build
//   node --cpu-prof --cpu-prof-dir=prof scripts/profile-keyed-count.mjs [records] [parallelism] [mode]
//   node scripts/profile-summary.mjs prof
//
// Defaults: 10,000,000 records, parallelism 1, exactly-once with a 1 s interval.
import { fileURLToPath } from 'node:url';

const { keyedCountRate } = await import(new URL('../dist/bench/engine-run.js', import.meta.url).href);
const records = Number(process.argv[2] ?? 10_000_000);
const parallelism = Number(process.argv[3] ?? 1);
const mode = process.argv[4] ?? 'exactly-once';
const options = { parallelism, mode, ...(mode === 'none' ? {} : { checkpointIntervalMs: 1000 }) };
await keyedCountRate(200_000, 10_000, options);
const r = await keyedCountRate(records, 10_000, options);
console.log(
  `${fileURLToPath(import.meta.url)
    .split('/')
    .pop()}: ${records} records, parallelism ${parallelism}, ${mode}: ${Math.round(r.recordsPerSec).toLocaleString('en-US')} records/s`,
);
