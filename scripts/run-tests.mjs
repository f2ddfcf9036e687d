#!/usr/bin/env node
// Runs every compiled test: dist/test/**/*.test.js, one file at a time.
//
// Node 20's `node --test` does not expand globs itself, so we find the files here. Tests spawn
// worker threads and the CI machine has 2 cores, hence --test-concurrency=1.
//
//   node scripts/run-tests.mjs                     all tests
//   node scripts/run-tests.mjs cli checkpoint      only files whose path contains "cli" or "checkpoint"
//   node scripts/run-tests.mjs --test-name-pattern=ring   extra flags go to node --test
//
// EDDY_SOAK=1 (longer test variants) reaches the tests through the inherited environment.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const testDir = join(root, 'dist', 'test');

function findTests(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if (err.code === 'ENOENT') return [];
    throw err;
  }
  const files = [];
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) files.push(...findTests(p));
    else if (e.isFile() && e.name.endsWith('.test.js')) files.push(p);
  }
  return files;
}

const extra = process.argv.slice(2);
const flags = extra.filter((a) => a.startsWith('-'));
const filters = extra.filter((a) => !a.startsWith('-'));

let files = findTests(testDir)
  .map((f) => relative(root, f))
  .sort();
if (filters.length > 0) files = files.filter((f) => filters.some((s) => f.split(sep).join('/').includes(s)));

if (files.length === 0) {
  console.error(
    filters.length > 0
      ? `run-tests: no test file under dist/test matches ${filters.join(', ')}`
      : 'run-tests: no dist/test/**/*.test.js found; run `npm run build` first (npm test does)',
  );
  process.exit(1);
}

const child = spawn(process.execPath, ['--test', '--test-concurrency=1', ...flags, ...files], {
  cwd: root,
  stdio: 'inherit',
  env: process.env,
});

// Ctrl-C reaches the child through the terminal's process group: just wait for it to end.
// A SIGTERM sent to this process alone (a CI timeout) is passed on.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => child.kill('SIGTERM'));

child.on('exit', (code, signal) => {
  if (signal) {
    console.error(`run-tests: node --test was killed by ${signal}`);
    process.exit(1);
  }
  process.exit(code ?? 1);
});
