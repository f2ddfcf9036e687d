/**
 * Loads a job module, in the main thread and again in every worker (the module plays the part
 * of Flink's user jar: user functions stay closures and are never serialized).
 *
 * A TypeScript job module is compiled once, in the main thread, into one JavaScript module
 * (job-bundle.ts) that every thread imports; tsx loads it only where esbuild cannot build it.
 * A job file outside this package can still `import ... from 'eddy'`: a resolve hook maps that
 * specifier to this very copy of eddy (a bundle names it by URL), so the job and the runtime
 * share one set of modules.
 */
import { existsSync, statSync } from 'node:fs';
import { register } from 'node:module';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isJobDefinition, type JobDefinition } from '../api/job.js';
import { EddyError, messageOf } from '../failure.js';
import { compileErrorLine } from './compile-error.js';
import { bundleJob, JOB_BUNDLE_DIR } from './job-bundle.js';
import { eddyModuleUrls } from './eddy-specifiers.js';

const TS_EXTENSIONS = /\.(ts|mts|cts|tsx)$/;
let hooksRegistered = false;

/** This package's root: a job file inside it resolves 'eddy' by self-reference already. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** What `eddy` is for a job this copy runs: its entry, by URL. */
export const EDDY_ENTRY = new URL('../index.js', import.meta.url).href;

/** Job files that resolve 'eddy' without the hook: inside this package, or a bundle (by URL). */
function resolvesEddyItself(jobFile: string): boolean {
  return jobFile.startsWith(PACKAGE_ROOT) || jobFile.startsWith(JOB_BUNDLE_DIR);
}

function registerEddyResolver(jobFile: string): void {
  // The hook costs every later import in this thread a round trip to the loader thread, so
  // it is only installed for job files that need it.
  if (hooksRegistered || resolvesEddyItself(jobFile)) return;
  hooksRegistered = true;
  register(new URL('./resolve-hook.js', import.meta.url).href, { data: { eddyModules: eddyModuleUrls(EDDY_ENTRY) } });
}

const cache = new Map<string, Promise<JobDefinition>>();
/** Job file → the module this thread imported for it (its bundle, for a TypeScript job). */
const imported = new Map<string, string>();

/**
 * What a worker thread should import for a job this thread loaded: the bundle of a TypeScript
 * job (plain JavaScript, no tsx in the worker), else the job file itself.
 */
export function jobModuleFor(jobPath: string): string {
  return imported.get(resolvePath(jobPath)) ?? resolvePath(jobPath);
}

/** Resolves a job path (relative to the working directory) and imports it once per thread. */
export function loadJob(jobPath: string): Promise<JobDefinition> {
  const abs = resolvePath(jobPath);
  let p = cache.get(abs);
  if (!p) {
    p = importJob(jobPath, abs);
    cache.set(abs, p);
    p.catch(() => cache.delete(abs));
  }
  return p;
}

async function importJob(given: string, abs: string): Promise<JobDefinition> {
  if (!existsSync(abs)) {
    throw new EddyError('JOB_NOT_FOUND', `job file '${given}' does not exist; give the path of a job module (e.g. examples/wordcount.ts)`);
  }
  if (!statSync(abs).isFile()) throw new EddyError('JOB_NOT_FOUND', `job path '${given}' is not a file; give the path of a job module`);
  if (!hooksRegistered && !resolvesEddyItself(abs)) {
    // Once the hook is registered, every module this thread resolves makes a round trip to
    // the hook thread. The job's `import 'eddy'` pulls in eddy's whole public graph: loaded
    // first, through Node's own resolver, it cost each worker ~250 ms instead of ~500-700 ms
    // on 2 busy cores, and a job whose operators cannot chain (a union of two sources: three
    // tasks) paid it once per thread. The hook then resolves only 'eddy' itself and the job's files.
    await import('../index.js');
  }
  let mod: Record<string, unknown>;
  try {
    if (TS_EXTENSIONS.test(abs)) {
      const bundle = await bundleJob(abs, EDDY_ENTRY);
      if (bundle !== undefined) {
        // Its stack traces point into the bundle: map them back to the job's sources.
        process.setSourceMapsEnabled(true);
        mod = (await import(pathToFileURL(bundle).href)) as Record<string, unknown>;
        imported.set(abs, bundle);
      } else {
        registerEddyResolver(abs);
        const { tsImport } = await import('tsx/esm/api');
        mod = (await tsImport(pathToFileURL(abs).href, import.meta.url)) as Record<string, unknown>;
      }
    } else {
      registerEddyResolver(abs);
      mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
    }
  } catch (err) {
    throw loadFailure(given, err);
  }
  let def: unknown = mod.default;
  // A TypeScript module compiled as CommonJS arrives as { default: { default: job } }.
  if (!isJobDefinition(def) && typeof def === 'object' && def !== null && 'default' in def) def = (def as Record<string, unknown>).default;
  if (!isJobDefinition(def)) {
    throw new EddyError(
      'JOB_INVALID',
      `job module '${given}' has no default export made by defineJob; end it with: export default defineJob((env) => { ... })`,
    );
  }
  return def;
}

function loadFailure(given: string, err: unknown): EddyError {
  const message = messageOf(err);
  const compile = compileErrorLine(message);
  if (compile !== undefined) return new EddyError('JOB_LOAD_FAILED', `job module '${given}' does not compile: ${compile}`);
  return new EddyError('JOB_LOAD_FAILED', `job module '${given}' failed to load: ${message.split('\n')[0]}`);
}
