// test-lane: pair
// Every complete job in README.md runs.
//
// THE CONVENTION (follow it when you add a job to the README):
// - A fenced code block tagged ts, js or mjs that contains `defineJob(` is a complete job
//   module. This test writes it to a fresh temporary folder and runs it with
//   `eddy run JOB --no-progress ...` there (so relative paths in its arguments resolve in that
//   folder), and requires exit code 0.
// - Its command-line arguments come from an HTML comment (invisible on the rendered page)
//   before the block:        <!-- run: --parallelism 2 --arg input=clicks.jsonl --arg output=out -->
// - Input files it needs, each as a comment before the block (the first line names the file,
//   the rest is its content):
//       <!-- file clicks.jsonl
//       {"user":"ann","ts":1000}
//       -->
//   A run or file comment belongs to the next job block after it.
// - A job that needs something this machine may lack (a server): `<!-- run: skip: REASON -->`;
//   the test lists it as skipped with the reason. Use it only for that.
// - Optionally `<!-- expect: TEXT -->`: stdout or stderr must contain TEXT.
//
// A `ts` block is run as a user runs it: a .ts file, which the CLI compiles once and every
// worker imports (core/runtime/job-bundle.ts). Until that compile, tsx in the CLI and in each
// worker thread cost about 5 CPU-s per job, and this file ran all but the first as .mjs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliPath, repoRoot } from '../helpers/paths.js';

export interface ReadmeJob {
  /** 1-based line of the opening fence in README.md. */
  line: number;
  lang: string;
  code: string;
  args: string[];
  files: Array<{ name: string; content: string }>;
  skip?: string;
  expect: string[];
}

/** Splits a run comment's arguments on spaces, keeping "double quoted" words together. */
function splitArgs(s: string): string[] {
  return [...s.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

export function readmeJobs(markdown: string): ReadmeJob[] {
  const jobs: ReadmeJob[] = [];
  const lines = markdown.split('\n');
  let pending: Omit<ReadmeJob, 'line' | 'lang' | 'code'> = { args: [], files: [], expect: [] };
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const run = /^<!--\s*run:\s*(.*?)\s*-->\s*$/.exec(l);
    if (run) {
      const skip = /^skip:\s*(.*)$/.exec(run[1]);
      if (skip) pending.skip = skip[1] || 'no reason given';
      else pending.args = splitArgs(run[1]);
      continue;
    }
    const expect = /^<!--\s*expect:\s*(.*?)\s*-->\s*$/.exec(l);
    if (expect) {
      pending.expect.push(expect[1]);
      continue;
    }
    const file = /^<!--\s*file\s+(\S+)\s*$/.exec(l);
    if (file) {
      const body: string[] = [];
      for (i++; i < lines.length && !/^-->\s*$/.test(lines[i]); i++) body.push(lines[i]);
      pending.files.push({ name: file[1], content: body.length ? body.join('\n') + '\n' : '' });
      continue;
    }
    const fence = /^(`{3,})(\w*)\s*$/.exec(l);
    if (fence) {
      const start = i;
      const body: string[] = [];
      for (i++; i < lines.length && !lines[i].startsWith(fence[1]); i++) body.push(lines[i]);
      const code = body.join('\n');
      if (['ts', 'typescript', 'js', 'mjs', 'javascript'].includes(fence[2]) && code.includes('defineJob(')) {
        jobs.push({ line: start + 1, lang: fence[2], code, ...pending });
        pending = { args: [], files: [], expect: [] };
      }
    }
  }
  return jobs;
}

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const jobs = readmeJobs(readme);

describe('README jobs run', () => {
  it('the README has jobs (the extraction finds them)', () => {
    assert.ok(jobs.length >= 2, `found ${jobs.length} job blocks`);
  });

  for (const job of jobs) {
    const asTs = job.lang.startsWith('t');
    const firstLine = job.code.split('\n')[0].replace(/^\/\/\s*/, '').slice(0, 60);
    it(`README.md line ${job.line}: ${firstLine}`, { skip: job.skip }, () => {
      // Inside the checkout, where `import 'eddy'` resolves to this package by its name.
      const dir = mkdtempSync(join(repoRoot, '.readme-job-'));
      try {
        const jobFile = join(dir, `job-line-${job.line}.${asTs ? 'ts' : 'mjs'}`);
        writeFileSync(jobFile, job.code + '\n');
        for (const f of job.files) writeFileSync(join(dir, f.name), f.content);
        const r = spawnSync(process.execPath, [cliPath, 'run', jobFile, '--no-progress', ...job.args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
        assert.equal(r.status, 0, `eddy run exited ${r.status}:\n${r.stderr}`);
        for (const e of job.expect) assert.ok(r.stdout.includes(e) || r.stderr.includes(e), `output contains '${e}':\n${r.stdout}\n${r.stderr}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
