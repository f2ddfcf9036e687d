// The five faults of the exactly-once tests (see test/fixtures/jobs/validating.mjs), in a
// seeded random order.
import { prng } from './prng.js';

/**
 * Five faults of every kind, at random points, in a random order of attempts. map@N and exit@N
 * fall within the first `spread` records after a checkpoint: a job that reads fewer records per
 * second scales it with its rate, so each fault lands at the same moment of its attempt.
 */
export function faultPlan(seed: number, spread = 100_000): string {
  const r = prng(seed);
  const faults = [
    // Every fault comes after a completed checkpoint of its attempt (map and exit count from
    // the first notify-complete; snapshot and commit fail the second barrier), so each next
    // attempt has a checkpoint to restore.
    `map@${1 + Math.floor(r() * spread)}`,
    `exit@${1 + Math.floor(r() * spread)}`,
    'snapshot@2',
    'restore@0',
    'commit@2',
  ];
  for (let k = faults.length - 1; k > 0; k--) {
    const j = Math.floor(r() * (k + 1));
    [faults[k], faults[j]] = [faults[j], faults[k]];
  }
  // A restore fault needs a checkpoint to restore from: not in the first attempt.
  if (faults[0] === 'restore@0') [faults[0], faults[1]] = [faults[1], faults[0]];
  return faults.join(',');
}
