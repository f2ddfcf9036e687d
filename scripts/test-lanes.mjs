// Which test files may share the machine, from one header line in each file:
//
//   // test-lane: pair     may run beside another `pair` file (not timing-sensitive)
//   // test-lane: alone    runs with nothing beside it (the default: a new file is safe)
//
// A file is `alone` when its checks depend on timing (armed triggers, TTL, declines, savepoints
// mid-run, kill -9, checkpoint legs): a second test on the other core makes such files fail
// more often, so they keep the machine to themselves as they did when everything ran serially.
import { readFileSync } from 'node:fs';

export const LANES = ['pair', 'alone'];
const DEFAULT_LANE = 'alone';
const MARKER = /^\/\/ test-lane: *(\S+) *$/m;

/** The lane a compiled test file declares, or the default; an unknown lane is an error. */
export function laneOf(file) {
  const m = MARKER.exec(readFileSync(file, 'utf8'));
  if (m === null) return DEFAULT_LANE;
  if (!LANES.includes(m[1])) throw new Error(`${file}: unknown '// test-lane: ${m[1]}' (one of ${LANES.join(', ')})`);
  return m[1];
}

/**
 * The phases of a run, in order: the `pair` files two at a time, then the `alone` files one at
 * a time. Two phases rather than two lanes side by side, since an `alone` file must not have
 * anything beside it. `serial` puts every file in one phase of width 1 (the run before lanes).
 */
export function phases(files, { serial = false } = {}) {
  if (serial) return [{ width: 1, files }];
  const lane = new Map(files.map((f) => [f, laneOf(f)]));
  const pair = files.filter((f) => lane.get(f) === 'pair');
  const alone = files.filter((f) => lane.get(f) === 'alone');
  return [
    { width: 2, files: pair },
    { width: 1, files: alone },
  ].filter((p) => p.files.length > 0);
}
