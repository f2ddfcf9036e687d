/**
 * The live dashboard in real headless Chromium (Debian's /usr/bin/chromium driven by
 * playwright-core), watching one running job: generated events → a pass-through that throws
 * once (in attempt 1) → a keyed count → a slow sink at parallelism 1 behind a rebalance, with
 * small rings so the sink's slowness reaches the count vertex quickly.
 *
 * What the page must show, read from the DOM the way a user reads it: every vertex of the
 * graph with a non-zero rate; the count vertex back-pressured (HIGH, > 50 %) while the sink is
 * busy; a completed checkpoint in the history; the injected failure in the exceptions with
 * the uid of the operator that threw ('faults'). A screenshot is kept in test-artifacts/.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runJob } from '../../core/runtime/job-run.js';
import type { JobResult } from '../../core/runtime/options.js';
import { fixture, repoRoot } from '../helpers/paths.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: apt-get install -y chromium`;

describe('dashboard in headless Chromium', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-ui-'));
  const stop = new AbortController();
  let url = '';
  let job: Promise<JobResult>;
  // playwright-core types are loaded lazily: the suite skips without Chromium.
  let browser: import('playwright-core').Browser;
  let page: import('playwright-core').Page;

  before(async () => {
    let started!: (u: string) => void;
    const listening = new Promise<string>((r) => (started = r));
    job = runJob(
      fixture('observed.mjs'),
      {
        parallelism: 2,
        checkpointDir: join(dir, 'chk'),
        checkpointIntervalMs: 500,
        ringCapacity: 16 * 1024,
        restart: 'fixed:3:200',
        // Long enough to outlast the test; the test stops it.
        args: { count: '2000000', keys: '50', rate: '4000', 'fail-at': '2000', 'sink-us': '600' },
        webUi: 0,
        onWebUi: (u) => started(u),
      },
      { signal: stop.signal },
    );
    job.catch(() => {});
    url = await Promise.race([listening, job.then(() => 'ended')]);
    assert.notEqual(url, 'ended', 'the job ended before its dashboard was up');
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // No outside connections: this machine has none, and Chromium would keep trying.
      args: [
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1500 } });
    await page.goto(url);
  });

  after(async () => {
    await browser?.close();
    stop.abort();
    await job?.catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the graph, backpressure, checkpoints and the failure of a running job', { timeout: 90_000 }, async () => {
    // Conditions are evaluated in the page (DOM code as strings: the tests compile without the DOM library).
    const wait = (expr: string, what: string) =>
      page
        .waitForFunction(expr, undefined, { timeout: 45_000, polling: 250 })
        .catch((err: Error) => assert.fail(`${what}: ${err.message}`));
    const evaluate = <T>(expr: string) => page.evaluate(expr) as Promise<T>;

    // The injected failure, with the uid of the operator that threw.
    await wait(
      `document.querySelector('#exceptions .exception[data-operator-uid="faults"][data-code="USER_FUNCTION_FAILED"]') !== null`,
      'the failure in the exceptions',
    );
    const text = await page.textContent('#exceptions .exception');
    assert.match(text ?? '', /injected failure at record \d+/);
    assert.match(text ?? '', /attempt 1/); // the job's first run is attempt 1, as in JobResult.exceptions
    // The failing record's origin: the generator's index of the record the message names.
    const failedAt = Number(/injected failure at record (\d+)/.exec(text ?? '')![1]);
    const origin = await evaluate<{ source: string; offset: string; text: string } | null>(
      `(() => { const o = document.querySelector('#exceptions .exception .origin'); return o && { source: o.dataset.source, offset: o.dataset.offset, text: o.textContent }; })()`,
    );
    assert.ok(origin, 'the exception names the record it failed on');
    assert.equal(origin.source, 'events');
    assert.equal(Number(origin.offset), failedAt);
    assert.match(origin.text, new RegExp(`offset ${failedAt}\\b.*'events'`));
    assert.equal(await page.textContent('#job-restarts'), '1');

    // A completed checkpoint in the history (after the restart).
    await wait(
      `document.querySelector('#checkpoint-history tr[data-status="COMPLETED"]') !== null`,
      'a completed checkpoint in the history',
    );
    const row = await evaluate<string[]>(
      `[...document.querySelector('#checkpoint-history tr[data-status="COMPLETED"]').cells].map((td) => td.textContent)`,
    );
    assert.match(row[3] ?? '', /^5\/5$/, 'every subtask acknowledged it (2 + 2 + 1 tasks)');
    // Its phases per subtask.
    assert.equal(await evaluate<number>(`document.querySelectorAll('#checkpoint-detail tbody tr').length`), 5);

    // Every vertex of the graph, each moving records.
    const vertices = await evaluate<string[]>(`[...document.querySelectorAll('#graph .vertex')].map((g) => g.dataset.vertexId)`);
    assert.deepEqual(vertices.sort(), ['0', '1', '2']);
    await wait(
      `[...document.querySelectorAll('#graph .vertex')].every((g) => Number(g.dataset.rate) > 0)`,
      'every vertex with a non-zero rate',
    );
    const edges = (await evaluate<string[]>(`[...document.querySelectorAll('#graph .edge text')].map((t) => t.textContent)`)).sort();
    assert.deepEqual(edges, ['hash', 'rebalance']);

    // The sink takes ~1600 records/s at 600 µs each, the source makes 4000: the count vertex
    // in front of it waits for ring space most of the time.
    await wait(
      `document.querySelector('#graph .vertex[data-vertex-id="1"]')?.dataset.backpressureLevel === 'high'`,
      'the count vertex back-pressured',
    );
    const sinkBusy = await evaluate<number>(`Number(document.querySelector('#graph .vertex[data-vertex-id="2"]').dataset.busy)`);
    assert.ok(sinkBusy > 50, `the slow sink is busy (${sinkBusy} %)`);

    // The subtask table of the count vertex, after a click on it in the graph.
    await page.click('#graph .vertex[data-vertex-id="1"]');
    await wait(`document.querySelectorAll('#subtasks tbody tr[data-operator="count"]').length === 2`, 'the subtasks of the count vertex');

    const artifacts = join(repoRoot, 'test-artifacts');
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'dashboard.png'), fullPage: true });
  });
});
