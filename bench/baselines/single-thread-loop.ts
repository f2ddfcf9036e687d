/**
 * Keyed count as a plain loop on one thread: make each record, count it per key in a Map. No
 * threads, no serialization: what one core does when nothing stands between source and state.
 */
export function singleThreadKeyedCount(count: number, keys: number): { ms: number; distinct: number } {
  const counts = new Map<number, number>();
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const r = { key: i % keys, value: i };
    counts.set(r.key, (counts.get(r.key) ?? 0) + 1);
  }
  const ms = performance.now() - started;
  let total = 0;
  for (const n of counts.values()) total += n;
  if (total !== count) throw new Error(`single-thread baseline counted ${total} of ${count}`);
  return { ms, distinct: counts.size };
}
