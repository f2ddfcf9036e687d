/**
 * The plain single-thread Node script issue 18 measures eddy against: the same work as
 * bench/jobs/state-scale.mjs (read lines, parse, running sum and count per key in a Map, one
 * JSON line out per record) with readline, a Map and JSON.stringify. Run as its own process:
 * `node dist/bench/baselines/state-scale-plain.js INPUT OUTPUT_FILE`; prints one JSON line:
 * records, keys, CPU ms and peak RSS of the process.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

const FLUSH_CHARS = 1 << 20;

const [input, output] = process.argv.slice(2);
const sums = new Map<number, { sum: number; count: number }>();
const out = createWriteStream(output);
let buf = '';
let records = 0;
for await (const line of createInterface({ input: createReadStream(input), crlfDelay: Infinity })) {
  const a = line.indexOf(',');
  const b = line.indexOf(',', a + 1);
  const c = line.indexOf(',', b + 1);
  const key = Number(line.slice(a + 1, b));
  const value = Number(line.slice(b + 1, c));
  let s = sums.get(key);
  if (s === undefined) sums.set(key, (s = { sum: 0, count: 0 }));
  s.sum += value;
  s.count++;
  buf += JSON.stringify({ key, sum: s.sum, count: s.count }) + '\n';
  records++;
  if (buf.length >= FLUSH_CHARS) {
    if (!out.write(buf)) await once(out, 'drain');
    buf = '';
  }
}
out.end(buf);
await once(out, 'finish');
const cpu = process.cpuUsage();
console.log(
  JSON.stringify({ records, keys: sums.size, cpuMs: (cpu.user + cpu.system) / 1000, peakRssBytes: process.resourceUsage().maxRSS * 1024 }),
);
