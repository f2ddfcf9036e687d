/**
 * The live progress line as a user sees it in a real terminal (issue 12: `0 rec/s` while
 * records flowed, the source column stuck at `0→0`, counts moving in ~1 s steps, the sink
 * column cut off at 80 columns). `eddy run` runs in a pseudo-terminal of 80 columns (script(1),
 * stty) on a paced job whose full line is far wider than 80 columns; every redraw is taken from
 * the terminal's output. Checked on every redraw: it fits 80 columns, it ends with the sink
 * column, the source column counts records read, and once records reach the sink the source
 * count and the rate are not 0; between consecutive redraws the counts move. No timing bound:
 * the job is paced (a slow machine only makes it run longer).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { cliPath, fixture, repoRoot } from '../helpers/paths.js';

const COLUMNS = 80;
const COUNT = 600;
const RATE = 300;
const CLEAR_LINE = '\r\x1b[2K';
const haveScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

/** 999 → 999, 1.23k → 1230, 4.5M → 4500000 (the line's compact numbers). */
function parseCompact(s: string): number {
  const m = /^(-?[\d.]+)([kMG]?)$/.exec(s);
  assert.ok(m, `not a count: '${s}'`);
  return Number(m[1]) * ({ '': 1, k: 1e3, M: 1e6, G: 1e9 } as Record<string, number>)[m[2]!]!;
}

/** Runs `eddy run` in an 80-column pseudo-terminal and returns what the terminal received. */
function runInTerminal(args: string[]): Promise<{ output: string; code: number | null }> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = `stty cols ${COLUMNS} rows 24 && exec ${[process.execPath, cliPath, 'run', ...args].map(quote).join(' ')}`;
  const env: NodeJS.ProcessEnv = { COLUMNS: String(COLUMNS) };
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EDDY_') && k !== 'COLUMNS') env[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ output, code });
    });
  });
}

interface Redraw {
  text: string;
  rate: number;
  source: number;
  sink: number;
}

describe(
  'progress line in an 80-column terminal',
  { skip: haveScript ? false : 'script(1) is not installed (apt-get install bsdutils)' },
  () => {
    it('fits, keeps the sink, counts the source, shows a rate and moves from redraw to redraw', async () => {
      const { output, code } = await runInTerminal([
        fixture('paced-pipeline.mjs'),
        '--parallelism',
        '2',
        '--mode',
        'none',
        '--arg',
        `count=${COUNT}`,
        '--arg',
        `rate=${RATE}`,
      ]);
      assert.equal(code, 0, output);
      assert.match(output, /eddy: job finished/, output);
      // The line is redrawn as CLEAR_LINE + text; the summary after it starts a new line.
      const texts = output
        .split(CLEAR_LINE)
        .map((part) => part.split('\r\n')[0]!)
        .filter((t) => t.startsWith('eddy ') && t.includes(' rec/s │ '));
      assert.ok(texts.length >= 5, `redraws seen: ${texts.length}\n${JSON.stringify(output)}`);
      const redraws: Redraw[] = texts.map((text) => {
        assert.ok([...text].length <= COLUMNS, `${[...text].length} columns: ${text}`);
        assert.doesNotMatch(text, /\x1b/, `stray escape sequence in: ${JSON.stringify(text)}`);
        const sink = / sessions-out →(\S+)$/.exec(text);
        assert.ok(sink, `the sink column is missing or cut off: ${text}`);
        const source = / clicks (\S+)→ /.exec(text);
        assert.ok(source, `the source column is missing: ${text}`);
        const rate = /│ (\S+) rec\/s │/.exec(text)!;
        return { text, rate: parseCompact(rate[1]!), source: parseCompact(source[1]!), sink: parseCompact(sink[1]!) };
      });
      const flowing = redraws.filter((r) => r.sink > 0);
      assert.ok(flowing.length >= 4, `redraws with records at the sink: ${flowing.length}`);
      for (const r of flowing) {
        assert.ok(r.source > 0, `records reached the sink but the source column says none were read: ${r.text}`);
        assert.ok(r.rate > 0, `records reached the sink but the rate is 0: ${r.text}`);
      }
      // While the job runs the counts move between redraws (they once moved in ~1 s steps).
      const running = flowing.filter((r) => r.sink < COUNT);
      let moved = 0;
      for (let i = 1; i < running.length; i++)
        if (running[i]!.sink !== running[i - 1]!.sink || running[i]!.source !== running[i - 1]!.source) moved++;
      assert.ok(
        moved >= (running.length - 1) * 0.6,
        `counts moved in ${moved} of ${running.length - 1} consecutive redraws:\n${running.map((r) => r.text).join('\n')}`,
      );
    });
  },
);
