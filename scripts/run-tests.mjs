#!/usr/bin/env node
// Runs every compiled test: dist/test/**/*.test.js, one `node FILE` process per file.
//
// `node FILE`, not `node --test FILE`: node:test runs a file's tests in the process that imports
// it, and `--test` only adds a parent process that starts the file as its child and relays its
// report (about 0.3 CPU-s and 0.3 s of wall time per file on this machine, ~145 files). The
// report, the counts and the exit status are the same; a file that throws before its tests
// have run exits non-zero without counts, and the summary counts it as one failure.
//
// The machine has 2 cores and the tests start worker threads. Files whose header says
// `// test-lane: pair` (not timing-sensitive) run two at a time first; then every other file
// runs alone, as all of them did before (scripts/test-lanes.mjs says why and how to mark one).
// A file that runs alone streams its output as it comes; a file of the pair phase prints its
// output whole when it ends, so two files never interleave. A combined summary ends the run,
// and the exit status is non-zero if any file failed.
//
//   node scripts/run-tests.mjs                     all tests
//   node scripts/run-tests.mjs cli checkpoint      only files whose path contains "cli" or "checkpoint"
//   node scripts/run-tests.mjs --test-name-pattern=ring   extra flags go to each node process
//   EDDY_TEST_SERIAL=1 node scripts/run-tests.mjs  every file alone, one at a time
//
// EDDY_SOAK=1 (longer test variants) reaches the tests through the inherited environment.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { phases } from './test-lanes.mjs';
import { COUNTS, addTotals, emptyTotals } from './tap-totals.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const testDir = join(root, 'dist', 'test');
/** How long the tests of a file get to end after SIGINT / SIGTERM before their process group is killed. */
const STOP_GRACE_MS = 10_000;

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

let plan;
try {
  plan = phases(files, { serial: process.env.EDDY_TEST_SERIAL === '1' });
} catch (err) {
  console.error(`run-tests: ${err.message}`);
  process.exit(1);
}

// Output goes through a pipe so that the summary can count it; the reporter stays the one
// node:test would pick for this terminal (spec on a TTY, TAP otherwise).
const reporter = process.stdout.isTTY && !flags.some((f) => f.startsWith('--test-reporter')) ? ['--test-reporter=spec'] : [];
const running = new Set();
let stopping = null;

/** Runs one file; `live` streams its output, else it is printed whole at the end. */
function runFile(file, lane, live) {
  return new Promise((resolve) => {
    const started = Date.now();
    if (live) process.stdout.write(`# run-tests: ${file} (${lane})\n`);
    // Its own process group, so that a stop reaches the servers and `eddy` processes the tests start.
    const child = spawn(process.execPath, [...reporter, ...flags, file], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env,
      detached: true,
    });
    running.add(child);
    if (stopping !== null) signalGroup(child, stopping);
    const out = [];
    const err = [];
    child.stdout.on('data', (b) => {
      out.push(b);
      if (live) process.stdout.write(b);
    });
    child.stderr.on('data', (b) => {
      err.push(b);
      if (live) process.stderr.write(b);
    });
    child.on('close', (code, signal) => {
      running.delete(child);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const ok = code === 0;
      const end = ok ? `ok in ${seconds} s` : `FAILED (${signal ?? `exit ${code}`}) in ${seconds} s`;
      if (live) process.stdout.write(`# run-tests: ${file} ${end}\n`);
      else {
        process.stdout.write(`# run-tests: ${file} (${lane}, beside another) ${end}\n`);
        process.stdout.write(Buffer.concat(out));
        process.stderr.write(Buffer.concat(err));
      }
      resolve({ file, ok, output: Buffer.concat(out).toString('utf8') });
    });
  });
}

/** Runs the files of one phase, `width` at a time, in order. */
async function runPhase({ width, files: queue }, results) {
  const lane = width > 1 ? 'pair' : 'alone';
  const live = width === 1 || queue.length === 1;
  let next = 0;
  const worker = async () => {
    while (next < queue.length && stopping === null) results.push(await runFile(queue[next++], lane, live));
  };
  await Promise.all(Array.from({ length: Math.min(width, queue.length) }, worker));
}

function signalGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch (err) {
    if (err.code !== 'ESRCH') throw err;
  }
}

// Ctrl-C (SIGINT from the terminal) and SIGTERM (a CI timeout) stop every running file's process
// group and start no further file; what has not ended after STOP_GRACE_MS, or at a second
// signal, is killed.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (stopping !== null) {
      for (const child of running) signalGroup(child, 'SIGKILL');
      return;
    }
    stopping = signal;
    console.error(`run-tests: ${signal}: stopping ${running.size} running test file(s)`);
    for (const child of running) signalGroup(child, signal);
    setTimeout(() => {
      for (const child of running) signalGroup(child, 'SIGKILL');
    }, STOP_GRACE_MS).unref();
  });
}

const started = Date.now();
const results = [];
for (const phase of plan) await runPhase(phase, results);

const totals = emptyTotals();
for (const r of results) {
  const own = addTotals(emptyTotals(), r.output);
  // A file that failed with no failing or cancelled test threw before or outside its tests.
  if (!r.ok && own.fail === 0 && own.cancelled === 0) own.fail = 1;
  for (const c of COUNTS) totals[c] += own[c];
}
const failed = results.filter((r) => !r.ok);
const widths = plan.map((p) => `${p.files.length} ${p.width > 1 ? 'in the pair phase' : 'alone'}`).join(', ');
console.log(`# run-tests: ${results.length} of ${files.length} files (${widths}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
for (const c of COUNTS) console.log(`# ${c} ${totals[c]}`);
for (const r of failed) console.log(`# run-tests: failed: ${r.file}`);
if (stopping !== null) console.log(`# run-tests: stopped by ${stopping}`);
// exitCode, not exit(): the output written above reaches a slow reader before the process ends.
process.exitCode = failed.length > 0 || stopping !== null || results.length < files.length ? 1 : 0;
