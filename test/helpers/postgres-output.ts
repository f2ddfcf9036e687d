// What the PostgreSQL validating jobs (examples/postgres-exactly-once.ts,
// test/fixtures/jobs/postgres-validating.mjs) leave in their table, against the fault-free
// output computed with a plain loop: record seq has key seq % keys, value (seq * 7919) % 1000,
// and its row carries the running sum and count of its key up to and including it.
import type { PgServer } from './postgres-server.js';

export interface PgRowsCheck {
  rows: number;
  lost: number;
  duplicated: number;
  wrong: number;
}

export async function checkRows(server: PgServer, table: string, count: number, keys: number): Promise<PgRowsCheck> {
  const rows = await server.query<{ seq: string; key: number; sum: string; n: number }>(`SELECT seq, key, sum, n FROM "${table}"`);
  const seen: (typeof rows)[number][] = new Array(count);
  let duplicated = 0;
  let wrong = 0;
  for (const r of rows) {
    const seq = Number(r.seq);
    if (!(seq >= 0 && seq < count)) wrong++;
    else if (seen[seq]) {
      duplicated++;
      // A duplicate (at-least-once) must still carry the values of its record.
      if (seen[seq].sum !== r.sum || seen[seq].n !== r.n) wrong++;
    } else seen[seq] = r;
  }
  const sums = new Array<number>(keys).fill(0);
  const ns = new Array<number>(keys).fill(0);
  let lost = 0;
  for (let seq = 0; seq < count; seq++) {
    const k = seq % keys;
    sums[k] += (seq * 7919) % 1000;
    ns[k]++;
    const r = seen[seq];
    if (!r) lost++;
    else if (r.key !== k || Number(r.sum) !== sums[k] || r.n !== ns[k]) wrong++;
  }
  return { rows: rows.length, lost, duplicated, wrong };
}
