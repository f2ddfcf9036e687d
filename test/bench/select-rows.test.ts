// test-lane: pair
/** `--rows`: a suite's rows whose name holds every comma-separated word. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { selectRows } from '../../bench/select-rows.js';
import { MODES, modeLabel } from '../../bench/backpressure.js';

test("backpressure --rows 'unaligned' is the unaligned row alone; words are all required; none matching names the rows", () => {
  assert.deepEqual(selectRows(MODES, modeLabel, 'unaligned', 'backpressure').map(modeLabel), ['exactly-once unaligned']);
  assert.deepEqual(selectRows(MODES, modeLabel, 'exactly-once, 10', 'backpressure').map(modeLabel), ['exactly-once timeout 10']);
  assert.equal(selectRows(MODES, modeLabel, undefined, 'backpressure').length, MODES.length);
  assert.throws(
    () => selectRows(MODES, modeLabel, 'aligned,debloat 20', 'backpressure'),
    /matches no backpressure row; rows are: none; at-least-once;/,
  );
});
