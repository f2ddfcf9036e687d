/**
 * The REST API, Prometheus endpoint, queryable state and safety rules of the dashboard server,
 * against real running jobs (the observed.mjs fixture: events → faults → keyed count → sink).
 *
 * Record i has key k(i % 40) for i < 4000 and t(i % 40) after, so once the count operator is
 * well past record 4000 the k-keys' counts no longer move: each must then read 4000 / 40 = 100
 * through queryable state, and the job must later commit exactly that count for it.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { EddyError } from '../../core/failure.js';
import { runJob } from '../../core/runtime/job-run.js';
import type { JobResult } from '../../core/runtime/options.js';
import { cliPath, fixture } from '../helpers/paths.js';

const KEYS = 40;
const QUIET_AFTER = 4000;
// 6 s at RATE: the scrapes start once a checkpoint completed and take 3 s (the sampler ticks once a
// second); the queries wait for QUIET_AFTER + RATE records (2 s in): 2 s of room before the job ends.
const COUNT = 24_000;
const RATE = 4000;
// The LMDB case only queries state: 3 s of records past the point it waits for are room enough.
const LMDB_COUNT = QUIET_AFTER + 4 * RATE;

/** Per-subtask metrics every operator subtask must export. */
const OPERATOR_NAMES = [
  'numRecordsIn',
  'numRecordsOut',
  'numRecordsInPerSecond',
  'numRecordsOutPerSecond',
  'numBytesIn',
  'numBytesOut',
  'busyTimeMsPerSecond',
  'idleTimeMsPerSecond',
  'backPressuredTimeMsPerSecond',
  'currentInputWatermark',
  'currentOutputWatermark',
  'inPoolUsage',
  'outPoolUsage',
];
const COUNTERS = ['numRecordsIn', 'numRecordsOut', 'numBytesIn', 'numBytesOut'];
const JOB_NAMES = [
  'numRestarts',
  'numberOfCompletedCheckpoints',
  'numberOfFailedCheckpoints',
  'lastCheckpointDuration',
  'lastCheckpointSize',
];
const SUBTASKS: Record<string, number> = { events: 2, faults: 2, count: 2, sink: 1 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** name → (label string → value), from Prometheus' text format. */
function parseProm(text: string): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const v = m[3] === '-Inf' ? -Infinity : m[3] === '+Inf' ? Infinity : Number(m[3]);
    assert.ok(!Number.isNaN(v), `not a number: ${line}`);
    if (!out.has(m[1])) out.set(m[1], new Map());
    out.get(m[1])!.set(m[2] ?? '', v);
  }
  return out;
}

const labels = (operator: string, subtask: number) => `{job="observed",operator="${operator}",subtask="${subtask}"}`;

function http(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
const json = async (url: string) => {
  const r = await http(url);
  assert.equal(r.status, 200, `${url}: ${r.body}`);
  return JSON.parse(r.body);
};

interface Started {
  url: string;
  jid: string;
  dir: string;
  job: Promise<JobResult>;
}

async function start(state: 'heap' | 'lmdb', count = COUNT): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), `eddy-api-${state}-`));
  let started!: (u: string) => void;
  const listening = new Promise<string>((r) => (started = r));
  const job = runJob(fixture('observed.mjs'), {
    parallelism: 2,
    stateBackend: state,
    checkpointDir: join(dir, 'chk'),
    checkpointIntervalMs: 300,
    args: { count: String(count), keys: String(KEYS), rate: String(RATE), 'quiet-after': String(QUIET_AFTER) },
    webUi: 0,
    onWebUi: (u) => started(u),
  });
  job.catch(() => {});
  const url = await listening;
  const jid = (await json(`${url}jobs/overview`)).jobs[0].jid as string;
  return { url, jid, dir, job };
}

/** Waits until the count operator has taken in `n` records (read from the REST API). */
async function countPast(s: Started, n: number): Promise<void> {
  for (;;) {
    const v = await json(`${s.url}jobs/${s.jid}/vertices/1`);
    const taken = v.subtasks.reduce(
      (a: number, st: { operators: { uid: string; numRecordsIn: number }[] }) =>
        a + st.operators.find((o) => o.uid === 'count')!.numRecordsIn,
      0,
    );
    if (taken >= n) return;
    await sleep(200);
  }
}

/** Waits until the job has completed a checkpoint (read from the REST API). */
async function checkpointed(s: Started): Promise<void> {
  while ((await json(`${s.url}jobs/${s.jid}/checkpoints`)).counts.completed < 1) await sleep(100);
}

/** The count the job committed last for each key (the collect sink keeps committed records only). */
function committedCounts(result: JobResult): Map<string, number> {
  const last = new Map<string, number>();
  for (const r of result.collected.sink as { key: string; n: number }[]) last.set(r.key, Math.max(last.get(r.key) ?? 0, r.n));
  return last;
}

/** Independent reference: records i < QUIET_AFTER with i % KEYS === j. */
const expectedQuietCount = (j: number) => Math.floor((QUIET_AFTER - 1 - j) / KEYS) + 1;

async function queryQuietKeys(s: Started): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let j = 0; j < KEYS; j++) {
    const r = await json(`${s.url}jobs/${s.jid}/state/count/count?key=k${j}`);
    assert.equal(r.found, true, `k${j}: ${JSON.stringify(r)}`);
    seen.set(`k${j}`, r.value);
  }
  return seen;
}

describe('dashboard server: REST, /metrics, queryable state, safety', () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it(
    'scrapes /metrics during a run, answers state queries, refuses foreign hosts and tokenless mutations, leaves a record for eddy ui',
    { timeout: 90_000 },
    async () => {
      const s = await start('heap');
      dirs.push(s.dir);

      // -- /metrics during the run: four scrapes a second apart (one sample each), from the first
      // completed checkpoint on (a start-up slowed by a loaded machine is waited out, not guessed).
      // The sampler publishes a subtask's time accounts once a second, so the first scrape is
      // the first in which every subtask has a sampled second.
      await checkpointed(s);
      const accounted = (scrape: Map<string, Map<string, number>>): boolean =>
        Object.entries(SUBTASKS).every(([op, p]) =>
          Array.from({ length: p }, (_, st) => labels(op, st)).every(
            (l) =>
              (scrape.get('eddy_operator_busyTimeMsPerSecond')?.get(l) ?? 0) +
                (scrape.get('eddy_operator_idleTimeMsPerSecond')?.get(l) ?? 0) +
                (scrape.get('eddy_operator_backPressuredTimeMsPerSecond')?.get(l) ?? 0) >
              0,
          ),
        );
      const scrapes: Map<string, Map<string, number>>[] = [];
      const deadline = Date.now() + 30_000;
      while (scrapes.length < 4) {
        if (scrapes.length > 0) await sleep(1000);
        const r = await http(`${s.url}metrics`);
        assert.equal(r.status, 200);
        assert.match(r.body, /# TYPE eddy_operator_numRecordsIn gauge/);
        const scrape = parseProm(r.body);
        if (scrapes.length === 0 && !accounted(scrape)) {
          assert.ok(Date.now() < deadline, 'no sampled second of every subtask within 30 s of the first checkpoint');
          await sleep(100);
          continue;
        }
        scrapes.push(scrape);
      }
      for (const [k, scrape] of scrapes.entries()) {
        for (const [op, p] of Object.entries(SUBTASKS)) {
          for (let st = 0; st < p; st++) {
            for (const name of OPERATOR_NAMES)
              assert.ok(
                scrape.get(`eddy_operator_${name}`)?.has(labels(op, st)),
                `scrape ${k}: eddy_operator_${name}${labels(op, st)} missing`,
              );
            const at = (name: string) => scrape.get(`eddy_operator_${name}`)!.get(labels(op, st))!;
            const total = at('busyTimeMsPerSecond') + at('idleTimeMsPerSecond') + at('backPressuredTimeMsPerSecond');
            assert.ok(total >= 900 && total <= 1100, `scrape ${k}: ${op}/${st} busy + idle + back-pressured = ${total} ms/s`);
            if (k > 0) {
              for (const c of COUNTERS) {
                const before = scrapes[k - 1].get(`eddy_operator_${c}`)!.get(labels(op, st))!;
                assert.ok(at(c) >= before, `scrape ${k}: ${c} of ${op}/${st} went from ${before} to ${at(c)}`);
              }
            }
          }
        }
        for (const name of JOB_NAMES)
          if (k > 1) assert.ok(scrape.get(`eddy_job_${name}`)?.has('{job="observed"}'), `scrape ${k}: eddy_job_${name} missing`);
      }
      const first = scrapes[0].get('eddy_operator_numRecordsOut')!;
      const last = scrapes[3].get('eddy_operator_numRecordsOut')!;
      for (let st = 0; st < 2; st++)
        assert.ok(last.get(labels('events', st))! > first.get(labels('events', st))!, 'the sources kept emitting');
      // Bytes cross the rings at a chain's ends: out of the tail of the source chain, into the count.
      const bytesOut = scrapes[3].get('eddy_operator_numBytesOut')!;
      const bytesIn = scrapes[3].get('eddy_operator_numBytesIn')!;
      assert.ok(bytesOut.get(labels('faults', 0))! > 0 && bytesIn.get(labels('count', 0))! > 0, 'bytes counted');
      assert.equal(bytesOut.get(labels('events', 0)), 0, 'inside a chain no bytes are written');

      // Flink's vertex sub-resources: watermarks and back pressure per subtask.
      const wms = (await json(`${s.url}jobs/${s.jid}/vertices/1/watermarks`)) as { id: string; value: string }[];
      assert.deepEqual(wms.map((w) => w.id).sort(), [
        '0.currentInputWatermark',
        '0.currentOutputWatermark',
        '1.currentInputWatermark',
        '1.currentOutputWatermark',
      ]);
      // Ingestion time: the count's input watermark is a recent wall-clock time.
      for (const w of wms) assert.ok(Math.abs(Number(w.value) - Date.now()) < 60_000, `${w.id} = ${w.value}`);
      const bp = await json(`${s.url}jobs/${s.jid}/vertices/1/backpressure`);
      assert.equal(bp.subtasks.length, 2);
      for (const st of bp.subtasks) assert.ok(Math.abs(st.ratio + st.idleRatio + st.busyRatio - 1) <= 0.1, JSON.stringify(st));

      // -- Queryable state, once the k-keys are settled (1 s of records past the last of them).
      await countPast(s, QUIET_AFTER + RATE);
      const queried = await queryQuietKeys(s);
      for (let j = 0; j < KEYS; j++) assert.equal(queried.get(`k${j}`), expectedQuietCount(j), `k${j}`);
      const missing = await http(`${s.url}jobs/${s.jid}/state/count/count?key=no-such-key`);
      assert.equal(missing.status, 404);
      assert.equal(JSON.parse(missing.body).found, false);
      const noOp = await http(`${s.url}jobs/${s.jid}/state/nope/count?key=k1`);
      assert.equal(noOp.status, 409);
      assert.match(JSON.parse(noOp.body).errors[0], /no running operator 'nope'/);
      // State entries: every k-key and every t-key seen so far (all 80 by now), over both subtasks,
      // once the gauge has caught up (it is sampled, not live): waited for, up to 10 s.
      let stateEntries = 0;
      for (const deadline = Date.now() + 10_000; ; await sleep(100)) {
        const entries = parseProm((await http(`${s.url}metrics`)).body).get('eddy_operator_stateEntries')!;
        stateEntries = entries.get(labels('count', 0))! + entries.get(labels('count', 1))!;
        if (stateEntries === 2 * KEYS || Date.now() > deadline) break;
      }
      assert.equal(stateEntries, 2 * KEYS);

      // -- Safety: a foreign Host header (DNS rebinding) is refused, loopback names are not.
      const port = new URL(s.url).port;
      for (const host of ['evil.example', `evil.example:${port}`, '127.0.0.1.evil.example', `attacker.test:${port}`]) {
        const r = await http(`${s.url}overview`, { headers: { host } });
        assert.equal(r.status, 403, `Host: ${host}`);
      }
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`])
        assert.equal((await http(`${s.url}overview`, { headers: { host } })).status, 200, `Host: ${host}`);
      // Mutations need the control token.
      const savepoints = `${s.url}jobs/${s.jid}/savepoints`;
      assert.equal((await http(savepoints, { method: 'POST', body: '{}' })).status, 403);
      assert.equal((await http(savepoints, { method: 'POST', body: '{}', headers: { 'x-eddy-token': 'not-the-token' } })).status, 403);
      assert.equal((await http(`${s.url}jobs/${s.jid}/stop`, { method: 'POST', body: '{}' })).status, 403);
      assert.equal((await http(savepoints)).status, 405);
      const { token } = JSON.parse(readFileSync(join(s.dir, 'chk', '_control.json'), 'utf8')) as { token: string };
      const sp = await http(savepoints, { method: 'POST', body: '{}', headers: { 'x-eddy-token': token } });
      assert.equal(sp.status, 200, sp.body);
      assert.ok(existsSync(JSON.parse(sp.body).path), 'the savepoint exists');

      // -- What the job commits for the queried keys is what the queries returned.
      const result = await s.job;
      assert.equal(result.restarts, 0);
      const committed = committedCounts(result);
      for (let j = 0; j < KEYS; j++) assert.equal(committed.get(`k${j}`), queried.get(`k${j}`), `committed count of k${j}`);

      // -- After the job: the record in the checkpoint directory, served by eddy ui.
      const ui = spawn(process.execPath, [cliPath, 'ui', join(s.dir, 'chk'), '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        const url = await new Promise<string>((resolve, reject) => {
          let out = '';
          ui.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
            if (m) resolve(m[1]);
          });
          ui.once('exit', (code) => reject(new Error(`eddy ui exited with ${code}`)));
        });
        const jobs = await json(`${url}jobs/overview`);
        assert.equal(jobs.jobs[0].state, 'FINISHED');
        const jid = jobs.jobs[0].jid;
        const job = await json(`${url}jobs/${jid}`);
        assert.deepEqual(
          job.vertices.map((v: { name: string }) => v.name),
          ['events -> faults', 'count', 'sink'],
        );
        assert.equal(job.vertices[0].metrics['write-records'], COUNT);
        // A finished job's tasks are neither busy nor moving records.
        for (const v of job.vertices) assert.deepEqual([v.metrics.busyPercent, v.metrics.recordsInPerSecond], [0, 0], v.name);
        const cps = await json(`${url}jobs/${jid}/checkpoints`);
        assert.equal(cps.counts.completed, result.checkpointsCompleted);
        assert.ok(
          cps.history.some((c: { status: string; kind: string }) => c.status === 'COMPLETED' && c.kind === 'savepoint'),
          'the savepoint is in the history',
        );
        assert.deepEqual((await json(`${url}jobs/${jid}/exceptions`)).exceptionHistory.entries, []);
        const page = await http(url);
        assert.equal(page.status, 200);
        assert.match(page.body, /<svg id="graph"/);
        assert.equal((await http(`${url}vendor/dagre.min.js`)).status, 200);
      } finally {
        ui.kill('SIGTERM');
      }
    },
  );

  it('queryable state reads the LMDB backend (write-behind cache, then a read transaction)', { timeout: 60_000 }, async () => {
    const s = await start('lmdb', LMDB_COUNT);
    dirs.push(s.dir);
    await countPast(s, QUIET_AFTER + RATE);
    const queried = await queryQuietKeys(s);
    for (let j = 0; j < KEYS; j++) assert.equal(queried.get(`k${j}`), expectedQuietCount(j), `k${j}`);
    const committed = committedCounts(await s.job);
    for (let j = 0; j < KEYS; j++) assert.equal(committed.get(`k${j}`), queried.get(`k${j}`), `committed count of k${j}`);
  });

  it('eddy ui on a directory without a job record: one line naming the file', { timeout: 30_000 }, () => {
    const empty = mkdtempSync(join(tmpdir(), 'eddy-ui-empty-'));
    dirs.push(empty);
    const r = spawnSync(process.execPath, [cliPath, 'ui', empty], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^eddy: \[BAD_ARG\] no job record in .*_job-record\.json/);
  });

  it('refuses a non-loopback bind', { timeout: 30_000 }, async () => {
    await assert.rejects(
      runJob(fixture('observed.mjs'), {
        parallelism: 1,
        mode: 'none',
        args: { count: '10', keys: '2', rate: '1000' },
        webUi: 0,
        webUiHost: '0.0.0.0',
      }),
      (err: unknown) => err instanceof EddyError && err.code === 'BAD_ARG' && /not a loopback address/.test(err.message),
    );
    const cli = spawnSync(
      process.execPath,
      [
        cliPath,
        'run',
        fixture('observed.mjs'),
        '--web-ui',
        '0',
        '--web-ui-host',
        '0.0.0.0',
        '--arg',
        'count=10',
        '--arg',
        'keys=2',
        '--arg',
        'rate=1000',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(cli.status, 2);
    assert.equal(cli.stderr.trim().split('\n').length, 1, cli.stderr);
    assert.match(cli.stderr, /^eddy: \[BAD_FLAG\] --web-ui-host must be a loopback address/);
  });
});
