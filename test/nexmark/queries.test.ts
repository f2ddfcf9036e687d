// test-lane: pair
// Every Nexmark query job against a plain reference written here from the query's SQL (maps
// and loops over the same generated events; no eddy window or join code), compared exactly
// with the committed output at parallelism 1 and 3. Where a query's SQL result is an updating
// table, the reference is its final content (see README, Nexmark). q12 windows on the wall
// clock, so only its per-bidder totals are compared. `npm test` runs parallelism 3 only (records
// cross threads and key groups split there); EDDY_SOAK=1 adds parallelism 1 and runs ten times
// the events.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runJob } from '../../core/index.js';
import { compareCommitted, generate, RATE, REFERENCES, type Data } from '../helpers/nexmark-reference.js';
import { repoRoot } from '../helpers/paths.js';

const SOAK = process.env.EDDY_SOAK === '1' ? 10 : 1;
const PARALLELISMS = SOAK > 1 ? [1, 3] : [3];

/**
 * Every query, those whose jobs have as many tasks next to each other (1, 2, 3, 4 and 5 stages
 * today): runJob hands a job the idle threads of the last one with as many tasks
 * (core/runtime/pool.ts), and a cold thread first imports the engine. Only a matter of time.
 */
const ORDER = [
  'q0',
  'q1',
  'q2',
  'q10',
  'q13',
  'q14',
  'q21',
  'q22',
  'q7',
  'q11',
  'q12',
  'q15',
  'q16',
  'q17',
  'q18',
  'q19',
  'q5',
  'q3',
  'q8',
  'q9',
  'q20',
  'q4',
  'q6',
];

describe('nexmark queries against plain references', () => {
  it('the case order names every query once', () => assert.deepEqual([...ORDER].sort(), Object.keys(REFERENCES).sort()));

  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const data = new Map<number, Data>();

  for (const q of ORDER) {
    const ref = REFERENCES[q];
    it(`${q} commits the reference result at parallelism ${PARALLELISMS.join(' and ')}`, async () => {
      const events = ref.events * SOAK;
      if (!data.has(events)) data.set(events, generate(events));
      const expected = ref.expected(data.get(events)!);
      assert.ok(expected.length > 0, `${q}: the reference has rows at ${events} events`);
      for (const parallelism of PARALLELISMS) {
        const dir = mkdtempSync(join(tmpdir(), `eddy-nx-${q}-`));
        dirs.push(dir);
        // The compiled module (dist/examples): the .ts one runs through tsx, which only adds load time.
        await runJob(join(repoRoot, 'dist', 'examples', 'nexmark', `${q}.js`), {
          parallelism,
          args: { events: String(events), rate: String(RATE), output: dir },
        });
        const { got: g, expected: e } = compareCommitted(q, dir, expected);
        if (g.length !== e.length) assert.fail(`${q} at parallelism ${parallelism}: ${g.length} rows, expected ${e.length}`);
        assert.deepEqual(g, e, `${q} at parallelism ${parallelism}`);
      }
    });
  }
});
