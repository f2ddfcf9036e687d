// The Nexmark DDL and views of examples/nexmark-sql with their ${…} variables filled in, as
// nexmark's runner does, for tests that type or pipe them into `eddy sql`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

/** ddl_gen.sql + ddl_views.sql for `events` events at `rate` per second; `extra` goes into the WITH clause. */
export function nexmarkDdl(events: number, rate: number, extra = ''): string {
  const vars: Record<string, string> = {
    TPS: String(rate),
    EVENTS_NUM: String(events),
    PERSON_PROPORTION: '1',
    AUCTION_PROPORTION: '3',
    BID_PROPORTION: '46',
    NEXMARK_TABLE: 'datagen',
  };
  const text = ['ddl_gen.sql', 'ddl_views.sql'].map((f) => readFileSync(join(repoRoot, 'examples', 'nexmark-sql', f), 'utf8')).join('\n');
  return text
    .replace(/\$\{([A-Z_]+)\}/g, (w, n: string) => vars[n] ?? w)
    .replace("'connector' = 'nexmark',", `'connector' = 'nexmark',${extra}`);
}
