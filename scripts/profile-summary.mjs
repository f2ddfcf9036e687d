#!/usr/bin/env node
// Self time per function, per thread, from the .cpuprofile files `node --cpu-prof` wrote:
//   node scripts/profile-summary.mjs DIR [top=20]
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const [dir, topArg] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node scripts/profile-summary.mjs DIR [top]');
  process.exit(2);
}
const top = Number(topArg ?? 20);
for (const file of readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .sort()) {
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const self = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const cf = frames.get(id);
    const name = `${cf.functionName || '(anonymous)'} ${basename(cf.url)}:${cf.lineNumber + 1}`;
    const dt = profile.timeDeltas[i];
    self.set(name, (self.get(name) ?? 0) + dt);
    total += dt;
  });
  const idle = [...self].filter(([k]) => k.startsWith('(idle)')).reduce((n, [, v]) => n + v, 0);
  console.log(`== ${file}: ${(total / 1000).toFixed(0)} ms sampled, idle ${((100 * idle) / total).toFixed(1)}%`);
  for (const [name, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`  ${((100 * t) / total).toFixed(1).padStart(5)}%  ${name}`);
}
