/**
 * The benchmark suite: `npm run bench [-- --quick]`. Every figure is reported next to a
 * baseline measured in the same run, and written to bench/results/ as JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchKeyedCount } from './pipeline-keyed-count.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } }, strict: true });
const quick = values.quick!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const kc = await benchKeyedCount({ records: quick ? 500_000 : 3_000_000, keys: 10_000, rounds: quick ? 2 : 5 });
console.log('keyed count, parallelism 1 (generator → keyBy → count → discard)');
console.log(`  engine:               ${fmt(kc.engineRecordsPerSec)} records/s (median of ${kc.rounds})`);
console.log(`  two-thread baseline:  ${fmt(kc.baselineRecordsPerSec)} records/s (same ring + msgpackr + Map, no engine)`);
console.log(`  engine / baseline:    ${kc.ratio.toFixed(2)}`);

const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
mkdirSync(dir, { recursive: true });
const file = `${dir}keyed-count-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(file, JSON.stringify({ node: process.version, quick, keyedCount: kc }, null, 2));
console.log(`results: ${file}`);
