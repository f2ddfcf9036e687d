// test-lane: pair
/**
 * A job module outside this package gets eddy's resolve hook in every thread that loads it,
 * and from then on every module that thread resolves makes a round trip to the hook thread.
 * eddy's own modules (the job's `import 'eddy'` pulls in the whole public graph) must not:
 * through the hook they cost each worker hundreds of ms, which made a job of three
 * unchainable tasks (a union of two bounded sources) take ~2 s for 3 rows.
 *
 * Shown without timing: in a fresh worker thread, a counting hook registered before eddy's
 * (so it sits behind it in the chain) notes where eddy's hook is installed (the hook thread
 * resolves resolve-hook.js) and lists the eddy modules resolved through the chain after it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { after, describe, it } from 'node:test';

const scratch = mkdtempSync(join(tmpdir(), 'eddy-job-resolution-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const eddyCore = new URL('../../core/', import.meta.url).href;
const moduleLoader = new URL('../../core/runtime/module-loader.js', import.meta.url).href;

const COUNTING_HOOK = `
let port; let eddyCore; let eddyHookSeen = false; let eddyBefore = 0; let eddyAfter = [];
export function initialize(data) { port = data.port; eddyCore = data.eddyCore; }
export async function resolve(specifier, context, next) {
  if (specifier.startsWith('data:text/javascript,/*flush*/')) port.postMessage({ eddyHookSeen, eddyBefore, eddyAfter });
  const r = await next(specifier, context);
  if (r.url.endsWith('/resolve-hook.js')) eddyHookSeen = true;
  else if (r.url.startsWith(eddyCore)) eddyHookSeen ? eddyAfter.push(r.url.slice(eddyCore.length)) : eddyBefore++;
  return r;
}
`;

const RUNNER = `
import { register } from 'node:module';
import { MessageChannel, parentPort, workerData } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
register(workerData.hook, { data: { port: port2, eddyCore: workerData.eddyCore }, transferList: [port2] });
const { loadJob } = await import(workerData.moduleLoader);
const def = await loadJob(workerData.job);
port1.once('message', (counts) => { parentPort.postMessage({ ...counts, loaded: typeof def === 'object' && def !== null }); port1.close(); });
await import('data:text/javascript,/*flush*/export default 1');
`;

const JOB = `import { defineJob, Sources, Sinks } from 'eddy';
export default defineJob((env) => {
  env.fromSource(Sources.fromElements(1, 2), 'a').uid('a')
    .union(env.fromSource(Sources.fromElements(3), 'b').uid('b'))
    .sinkTo(Sinks.collect()).uid('sink');
});
`;

describe('loading a job module outside the package', () => {
  it(
    "resolves eddy's own modules without the resolve hook (only 'eddy' and the job's files go through it)",
    { timeout: 60_000 },
    async () => {
      const hook = join(scratch, 'counting-hook.mjs');
      const runner = join(scratch, 'runner.mjs');
      const job = join(scratch, 'union-job.mjs');
      writeFileSync(hook, COUNTING_HOOK);
      writeFileSync(runner, RUNNER);
      writeFileSync(job, JOB);
      const w = new Worker(runner, { workerData: { hook: pathToFileURL(hook).href, eddyCore, moduleLoader, job } });
      const counts = await new Promise<{ eddyHookSeen: boolean; eddyBefore: number; eddyAfter: string[]; loaded: boolean }>(
        (resolve, reject) => {
          w.once('message', resolve);
          w.once('error', reject);
          w.once('exit', (code) => reject(new Error(`worker exited with ${code} before reporting`)));
        },
      );
      await w.terminate();
      assert.equal(counts.loaded, true, 'the job module loaded');
      assert.equal(counts.eddyHookSeen, true, "eddy's resolve hook was installed in the worker (the job is outside the package)");
      // The counter works: loading the module loader itself resolved eddy-internal imports.
      assert.ok(counts.eddyBefore > 0, `eddy-internal resolutions before the hook: ${counts.eddyBefore}`);
      assert.deepEqual(counts.eddyAfter, [], 'eddy modules resolved through the hook thread');
    },
  );
});
