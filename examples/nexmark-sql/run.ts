// Runs one Nexmark query's SQL as nexmark's QueryRunner does: ddl_gen.sql, ddl_views.sql and
// qN.sql of this folder, their ${…} variables filled in, each through env.sql. The
// arguments are those of examples/nexmark/qN.ts, so both versions run on the same events:
//
//   eddy run examples/nexmark-sql/run.ts --arg query=q5 --arg events=100000 [--arg rate=R]
//            [--arg sink=blackhole|collect|print]
//
// sink: what the query files' `'connector' = '${SINK}'` becomes; 'blackhole' (the default,
// as nexmark's benchmark) drops the rows, 'collect' keeps them in the job result.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineJob, EddyError } from 'eddy';

/** This folder, whether the module runs from examples/ (tsx) or dist/examples/ (compiled). */
function sqlFolder(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  if (existsSync(join(here, 'ddl_gen.sql'))) return here;
  return fileURLToPath(new URL('../../../examples/nexmark-sql/', import.meta.url));
}

/** nexmark's side_input_gen.sh: 10,000 rows "i,i", written once (atomically: every worker may ask). */
function sideInput(): string {
  const path = join(tmpdir(), 'eddy-nexmark-side-input.csv');
  if (!existsSync(path)) {
    const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    writeFileSync(tmp, Array.from({ length: 10_000 }, (_, i) => `${i},${i}\n`).join(''));
    renameSync(tmp, path);
  }
  return path;
}

/** The files of query `query` in the order nexmark's runner reads them, variables filled in. */
export function nexmarkSqlFiles(query: string, vars: Record<string, string>): Array<{ file: string; text: string }> {
  const dir = sqlFolder();
  if (!/^q\d+$/.test(query) || !existsSync(join(dir, `${query}.sql`)))
    throw new EddyError('BAD_ARG', `--arg query=${query}: no such Nexmark query in ${dir} (q0 … q22)`);
  return ['ddl_gen.sql', 'ddl_views.sql', `${query}.sql`].map((file) => ({
    file,
    text: readFileSync(join(dir, file), 'utf8').replace(/\$\{([A-Z_]+)\}/g, (whole, name: string) => vars[name] ?? whole),
  }));
}

export default defineJob((env) => {
  const query = env.arg('query');
  const events = env.arg('events');
  const rate = env.arg('rate', '10000000');
  const files = nexmarkSqlFiles(query, {
    TPS: rate,
    EVENTS_NUM: events,
    PERSON_PROPORTION: '1',
    AUCTION_PROPORTION: '3',
    BID_PROPORTION: '46',
    NEXMARK_TABLE: 'datagen',
    SINK: env.arg('sink', 'blackhole'),
    ...(query === 'q13' ? { SIDE_INPUT: sideInput() } : {}),
  });
  // One call per file, so that a line and column in an error are those of the file it names.
  for (const { file, text } of files) {
    try {
      env.sql(text, { baseDir: sqlFolder() });
    } catch (err) {
      if (err instanceof EddyError) throw new EddyError(err.code, `examples/nexmark-sql/${file}: ${err.message}`);
      throw err;
    }
  }
});
