// Nexmark q5 (sliding windows, then a keyed max) and q8 (persons and auctions in one keyed
// tumbling window) under exactly-once checkpoints every 100 ms, with a user function that
// throws and then a worker that exits: the committed output equals the fault-free result
// (the plain reference of test/helpers/nexmark-reference.ts), none lost, none twice.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import { compareCommitted, generate, RATE, REFERENCES } from '../helpers/nexmark-reference.js';
import { fixture } from '../helpers/paths.js';

// 45,000 events at 15,000 per second: each fault comes 8,000 events after its attempt's first
// checkpoint, so both have fired by about 2 × (8,000 + 15,000 × L) events, L the seconds to that
// checkpoint: within the stream for L up to about 1 s, the margin 60,000 and 15,000 gave.
const EVENTS = 45_000 * (process.env.EDDY_SOAK === '1' ? 5 : 1);
const FAULTS = 'map@8000,exit@8000';

describe('nexmark queries under injected failures (exactly-once)', () => {
  const data = generate(EVENTS);
  for (const q of ['q5', 'q8']) {
    it(`${q}: a throwing function and a dying worker leave the fault-free output`, async () => {
      const dir = mkdtempSync(join(tmpdir(), `eddy-nx-eo-${q}-`));
      try {
        const result = await runJob(fixture('nexmark-faults.mjs'), {
          parallelism: 3,
          mode: 'exactly-once',
          checkpointIntervalMs: 100,
          restart: 'fixed:10:10',
          args: { query: q, events: String(EVENTS), rate: String(RATE), emitRate: '15000', output: dir, faults: FAULTS },
        });
        assert.equal(result.restarts, 2, `both faults fired (${FAULTS})`);
        const { got, expected } = compareCommitted(q, dir, REFERENCES[q].expected(data));
        assert.equal(got.length, expected.length, `${q}: committed rows`);
        assert.deepEqual(got, expected);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
