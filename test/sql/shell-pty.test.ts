// The interactive `eddy sql` through a real pseudo-terminal (util-linux `script`): statements
// typed over several lines, DDL, SHOW TABLES, DESCRIBE, a bad column, an updating GROUP BY
// whose table is redrawn in place until it ends, and a slow query stopped with q. The bytes
// the shell wrote go through a terminal emulator (@xterm/headless), and the final screen's
// table must equal the counts computed here from the generated events.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import xterm from '@xterm/headless';
import { generate } from '../helpers/nexmark-reference.js';
import { nexmarkDdl } from '../helpers/nexmark-sql-ddl.js';
import { cliPath } from '../helpers/paths.js';

const COLS = 110;
const ROWS = 36;
const EVENTS = 4000;
const RATE = 1000;

/** The screen: every line of the emulator's buffer (scrollback included), right-trimmed. */
async function screen(bytes: string): Promise<string[]> {
  const term = new xterm.Terminal({ cols: COLS, rows: ROWS, scrollback: 5000, allowProposedApi: true });
  await new Promise<void>((resolve) => term.write(bytes, resolve));
  const b = term.buffer.active;
  const lines: string[] = [];
  for (let i = 0; i < b.length; i++) lines.push(b.getLine(i)!.translateToString(true));
  term.dispose();
  return lines;
}

/** util-linux `script` gives the shell a real pseudo-terminal. */
const NO_SCRIPT = spawnSync('script', ['--version']).error
  ? 'install util-linux (the script command) to run the shell through a pseudo-terminal'
  : false;

describe('eddy sql shell in a pseudo-terminal', () => {
  it(
    'runs DDL, answers SHOW TABLES / DESCRIBE, shows an updating result in place and stops a query on q',
    { timeout: 60_000, skip: NO_SCRIPT },
    async () => {
      const child = spawn('script', ['-qfc', `stty cols ${COLS} rows ${ROWS}; exec node ${cliPath} sql --parallelism 2`, '/dev/null'], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const waitFor = async (what: string, test: (s: string) => boolean, ms = 30_000) => {
        const t0 = Date.now();
        while (!test(out)) {
          if (Date.now() - t0 > ms) assert.fail(`timed out waiting for ${what}; the terminal got:\n${out.slice(-3000)}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      const prompts = () => out.split('eddy sql> ').length - 1;
      // Typed text is done when a new primary prompt is the last thing written and 300 ms pass quietly.
      const type = async (text: string) => {
        const before = prompts();
        child.stdin.write(text);
        let last = '';
        let since = Date.now();
        await waitFor(`a prompt after ${JSON.stringify(text.slice(0, 60))}`, (s) => {
          if (s !== last) [last, since] = [s, Date.now()];
          return prompts() > before && !s.slice(s.lastIndexOf('eddy sql> ')).includes('\n') && Date.now() - since > 300;
        });
      };
      try {
        await waitFor('the first prompt', () => prompts() >= 1);
        await type(`${nexmarkDdl(EVENTS, RATE)}\n`);
        // A statement cut mid-word by the terminal, its first part typed before the statement
        // ahead of it has run: the shell must keep what was typed (it once dropped it).
        child.stdin.write('CREATE VIEW v1 AS SELECT category FROM auction;\nCREATE VIEW v2 AS SELECT cat');
        await waitFor("view v1's answer", (s) => s.includes("View 'v1' created"));
        await type('egory FROM auction;\n');
        // A slow source for the query stopped with q: 'emit.rate' paces the generator (events per second).
        await type(
          `${nexmarkDdl(1_000_000, RATE, "\n    'emit.rate' = '200',")
            .replace('CREATE TABLE datagen', 'CREATE TABLE slowgen')
            .replace(/CREATE VIEW[\s\S]*/, '')}\n`,
        );
        await type('SHOW\n  TABLES;\n');
        await type('DESCRIBE auction;\n');
        await type('SELECT nosuch FROM auction;\n');
        await type('SELECT category, COUNT(*) AS auctions, MAX(reserve) AS max_reserve\n  FROM auction\n  GROUP BY category;\n');
        const beforeSlow = prompts();
        const from = out.length;
        child.stdin.write('SELECT event_type, `dateTime` FROM slowgen;\n');
        // Rows of this query's own table (not a frame of the query before): q is read in raw mode from then on.
        await waitFor('the slow query to show rows', (s) =>
          /event_type \| dateTime[\s\S]*[1-9]\d* rows \(showing \d+-\d+\)[^\n]*running/.test(s.slice(from)),
        );
        child.stdin.write('q');
        await waitFor('the prompt after q', () => prompts() > beforeSlow);
        child.stdin.write('QUIT;\n');
        assert.equal(await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 15_000).unref())]), 0);
      } finally {
        child.stdin.end();
        child.kill('SIGKILL');
      }

      const lines = await screen(out);
      const text = lines.join('\n');
      // SHOW TABLES and DESCRIBE.
      assert.match(text, /^\[INFO\] View 'v2' created\.$/m, 'the statement typed in two parts ran whole');
      for (const t of ['auction', 'bid', 'datagen', 'person', 'slowgen', 'v1', 'v2'])
        assert.match(text, new RegExp(`^${t}$`, 'm'), `SHOW TABLES lists ${t}`);
      assert.match(text, /^reserve +\| BIGINT/m, 'DESCRIBE auction shows reserve BIGINT');
      // The bad column: one error line naming it.
      assert.match(text, /^\[ERROR\] .*nosuch/m);

      // The GROUP BY's final frame: header, rule, one row per category, status 'finished'.
      const h = lines.findIndex((l) => /^category \| auctions \| max_reserve/.test(l));
      assert.ok(h >= 0, `the result header is on the screen:\n${text}`);
      const status = lines.findIndex((l, i) => i > h && /^\d+ rows \(/.test(l));
      assert.match(lines[status], /^5 rows \(showing 1-5\) · \d+ changes · [\d.]+ s · finished$/);
      const got = lines
        .slice(h + 2, status)
        .map((l) =>
          l
            .split('|')
            .map((c) => c.trim())
            .join(','),
        )
        .sort();
      const d = generate(EVENTS);
      const byCategory = new Map<number, { n: number; max: number }>();
      for (const a of d.auctions) {
        const e = byCategory.get(a.category) ?? { n: 0, max: -Infinity };
        byCategory.set(a.category, { n: e.n + 1, max: Math.max(e.max, a.reserve) });
      }
      const want = [...byCategory].map(([c, e]) => `${c},${e.n},${e.max}`).sort();
      assert.deepEqual(got, want);
      // The table was redrawn in place: one header on the screen however many frames were drawn.
      assert.equal(lines.filter((l) => /^category \| auctions/.test(l)).length, 1);
      assert.ok(out.split('\x1b[J').length > 3, 'several frames were drawn');

      // The slow query was stopped by q, its last frame kept.
      const slow = lines.findIndex((l) => /^event_type \| dateTime/.test(l));
      assert.ok(slow > h, 'the slow query has its own table');
      assert.match(lines[slow + 2], /^ +[012] \| 2015-07-15 00:00:\d\d\.\d{3}$/, 'TIMESTAMP(3) shown as a date');
      const slowStatus = lines.find((l, i) => i > slow && /^\d+ rows \(/.test(l))!;
      assert.match(slowStatus, / · stopped$/);
      // Stopped long before its 1,000,000 events at 200 per second.
      assert.ok(Number(slowStatus.split(' ')[0]) < 100_000, slowStatus);
    },
  );
});
