// Async I/O (AsyncDataStream.orderedWait / unorderedWait) against a real HTTP server on
// 127.0.0.1 that answers after a random latency, fails some requests with 500 and leaves some
// hanging past the timeout. Checks: every answer right, ordered output in input order, no more
// requests in flight than the capacity (backpressure holds the input back), and under
// exactly-once with injected failures each input's result exactly once (the inputs in flight
// at a barrier are in the checkpoint: without that, a restore would lose them).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it, type TestContext } from 'node:test';
import { runJob } from '../../core/runtime/job-run.js';
import { fixture } from '../helpers/paths.js';
import { prng } from '../helpers/prng.js';

interface Answer {
  i: number;
  answer: number;
}

class FlakyServer {
  readonly server: Server;
  inFlight = 0;
  maxInFlight = 0;
  requests = 0;
  failed = 0;
  hung = 0;
  private readonly rnd = prng(99);
  /** Latency in [0, maxLatencyMs); share of 500s; share of requests that hang for 2 s. */
  maxLatencyMs = 20;
  failShare = 0.1;
  hangShare = 0.005;

  constructor() {
    this.server = createServer((req, res) => {
      const i = Number(new URL(req.url!, 'http://x').searchParams.get('i'));
      this.requests++;
      this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
      const r = this.rnd();
      const hang = r < this.hangShare;
      const fail = !hang && r < this.hangShare + this.failShare;
      if (hang) this.hung++;
      if (fail) this.failed++;
      const timer = setTimeout(
        () => {
          this.inFlight--;
          if (fail) res.writeHead(500).end('injected');
          else res.writeHead(200).end(String(3 * i));
        },
        hang ? 2000 : Math.floor(this.rnd() * this.maxLatencyMs),
      );
      // A request the client gave up on (timeout) no longer counts as in flight.
      res.on('close', () => {
        if (!res.writableEnded) {
          clearTimeout(timer);
          this.inFlight--;
        }
      });
    });
    this.server.keepAliveTimeout = 1000;
  }

  reset(): void {
    this.inFlight = 0;
    this.maxInFlight = 0;
    this.requests = 0;
    this.failed = 0;
    this.hung = 0;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }
}

function expectedAnswers(count: number): Answer[] {
  return Array.from({ length: count }, (_, i) => ({ i, answer: 3 * i }));
}

describe('async I/O against a local HTTP server', () => {
  const http = new FlakyServer();
  before(() => new Promise<void>((r) => http.server.listen(0, '127.0.0.1', () => r())));
  after(() => new Promise<void>((r) => http.server.close(() => r())));

  it('orderedWait: results in input order despite random latency, failures and timeouts; capacity bounds the requests in flight', async () => {
    http.reset();
    // 400 inputs: the server's seeded draws hang the 41st request (then 249th, 373rd) and fail about
    // one in ten, so timeouts and failures both happen whatever the timing.
    const count = 400;
    const result = await runJob(fixture('async-http.mjs'), {
      parallelism: 1,
      mode: 'none',
      args: { port: String(http.port), count: String(count), order: 'ordered', capacity: '8', timeout: '300' },
    });
    assert.deepEqual(result.collected.out, expectedAnswers(count));
    assert.ok(http.failed > 0 && http.hung > 0, `failures ${http.failed} and timeouts ${http.hung} were injected and retried`);
    assert.ok(http.maxInFlight <= 8, `at most 8 requests in flight, saw ${http.maxInFlight}`);
    assert.ok(http.maxInFlight >= 4, `calls overlap: ${http.maxInFlight} in flight at once`);
  });

  it('unorderedWait: every input answered once; completion order differs from input order', async () => {
    http.reset();
    const count = 600;
    const result = await runJob(fixture('async-http.mjs'), {
      parallelism: 2,
      mode: 'none',
      args: { port: String(http.port), count: String(count), order: 'unordered', capacity: '6', timeout: '300' },
    });
    const got = result.collected.out as Answer[];
    assert.deepEqual(
      [...got].sort((a, b) => a.i - b.i),
      expectedAnswers(count),
    );
    assert.ok(http.maxInFlight <= 12, `at most 2 × 6 requests in flight, saw ${http.maxInFlight}`);
    // Subtask 0 produces the even numbers: with random latency they complete out of order.
    const even = got.filter((a) => a.i % 2 === 0).map((a) => a.i);
    assert.notDeepEqual(
      even,
      [...even].sort((a, b) => a - b),
    );
  });

  for (const order of ['ordered', 'unordered']) {
    it(`${order}, exactly-once: a map that throws and a worker that exits; each input's result exactly once`, async (t: TestContext) => {
      http.reset();
      // Timeouts are the first tests' subject; here a busy machine must not turn slow answers into failures.
      http.maxLatencyMs = 60;
      http.hangShare = 0;
      try {
        const count = 2000;
        const result = await runJob(fixture('async-http.mjs'), {
          parallelism: 2,
          mode: 'exactly-once',
          checkpointIntervalMs: 100,
          restart: 'fixed:10:20',
          args: {
            port: String(http.port),
            count: String(count),
            order,
            capacity: '16',
            rate: '2000',
            timeout: '2000',
            faults: 'map@600,exit@500',
          },
        });
        assert.ok(
          result.restarts >= 2,
          `the two injected failures restarted the job: ${JSON.stringify(result.failures.map((f) => f.message))}`,
        );
        t.diagnostic(`failures: ${result.failures.map((f) => f.message).join(' | ')}`);
        const got = result.collected.out as Answer[];
        assert.deepEqual(
          [...got].sort((a, b) => a.i - b.i),
          expectedAnswers(count),
        );
      } finally {
        http.maxLatencyMs = 20;
        http.hangShare = 0.005;
      }
    });
  }

  for (const order of ['ordered', 'unordered']) {
    it(`${order}: watermarks wait for the calls before them, so event-time windows after the call lose nothing`, async () => {
      const count = 3000;
      const result = await runJob(fixture('async-windows.mjs'), { parallelism: 1, mode: 'none', args: { count: String(count), order } });
      const got = (result.collected.out as { key: number; start: number; n: number }[]).sort((a, b) => a.start - b.start || a.key - b.key);
      // Reference: record i (timestamp 10 i) counts in window floor(10 i / 1000) of key i % 3.
      const expected = new Map<string, { key: number; start: number; n: number }>();
      for (let i = 0; i < count; i++) {
        const start = Math.floor((10 * i) / 1000) * 1000;
        const k = `${start}/${i % 3}`;
        const e = expected.get(k) ?? { key: i % 3, start, n: 0 };
        e.n++;
        expected.set(k, e);
      }
      assert.deepEqual(
        got,
        [...expected.values()].sort((a, b) => a.start - b.start || a.key - b.key),
      );
    });
  }

  it('behind keyBy: every input answered once, in input order per key', async () => {
    http.reset();
    const count = 500;
    const result = await runJob(fixture('async-http.mjs'), {
      parallelism: 2,
      mode: 'none',
      args: { port: String(http.port), count: String(count), order: 'ordered', capacity: '8', timeout: '300', keyed: 'yes' },
    });
    const got = result.collected.out as Answer[];
    assert.deepEqual(
      [...got].sort((a, b) => a.i - b.i),
      expectedAnswers(count),
    );
    for (let k = 0; k < 4; k++) {
      const ofKey = got.filter((a) => a.i % 4 === k).map((a) => a.i);
      assert.deepEqual(
        ofKey,
        [...ofKey].sort((a, b) => a - b),
        `key ${k} in order`,
      );
    }
  });
});
