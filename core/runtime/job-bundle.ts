/**
 * A TypeScript job module, compiled once per process into one ES module that every thread of
 * the job imports as plain JavaScript (as Flink's user jar is compiled once, not per slot).
 *
 * Why: through tsx, each thread registers a module hook (in Node 20 a hooks thread of its own)
 * and loads tsx and esbuild before it compiles the job: about 1 CPU-s and 0.65 s per thread.
 * `examples/wordcount.ts` at parallelism 2 took 8.5 CPU-s and 5.3 s where the same job as
 * `.mjs` took 2.9 CPU-s and 2.3 s (idle 2-core machine).
 *
 * The bundle holds the job's own files (its relative imports, TypeScript or not). Packages,
 * Node's built-ins and `eddy` (`eddy/sql`) stay imports, resolved here to absolute URLs so that the bundle
 * can live in the temporary folder; `eddy` is the copy of eddy that runs the job, as the resolve
 * hook maps it. Each file keeps its own `import.meta.url`, `filename` and `dirname`, so data
 * files found next to the job still are. Stack traces map back to the sources (inline map).
 *
 * When esbuild cannot build it (a syntax error, an import it cannot resolve), `undefined`: the
 * caller loads the job through tsx as before, whose error names the line and column.
 *
 * A bundle is built once per content, not once per process: beside it a record names every file
 * it was built from with its hash (the job's own files, and for the packages it imports the
 * install's lock file, else the file a package resolved to), and a later process whose files all
 * hash the same imports the bundle without starting esbuild. esbuild's start and build took
 * 0.44-0.79 s of wall time per `eddy run` of examples/postgres-exactly-once.ts (busy machine),
 * and the tests start such runs many times over (kill, resume, kill again).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { eddyModuleUrl } from './eddy-specifiers.js';

/** Where bundles are kept, named by their content's hash (so concurrent runs share them). */
export const JOB_BUNDLE_DIR = join(tmpdir(), `eddy-job-bundles-${safeUser()}`);

function safeUser(): string {
  try {
    return String(userInfo().uid);
  } catch {
    return 'user';
  }
}

const LOADERS: Record<string, 'ts' | 'tsx' | 'js' | 'jsx'> = {
  '.ts': 'ts',
  '.mts': 'ts',
  '.cts': 'ts',
  '.tsx': 'tsx',
  '.js': 'js',
  '.mjs': 'js',
  '.cjs': 'js',
  '.jsx': 'jsx',
};
/** Marks esbuild's own resolution of a package, asked from inside the plugin. */
const RESOLVING = Symbol('eddy-resolving');
const IMPORT_META = /\bimport\.meta\.(url|filename|dirname)\b/g;

/** What a bundle was built from: each file with the hash of its content ('' when it was missing). */
interface BuiltFrom {
  bundle: string;
  files: [path: string, hash: string][];
}

function hashOf(...parts: (string | Buffer)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 24);
}

function fileHash(path: string): string {
  try {
    return hashOf(readFileSync(path));
  } catch {
    return '';
  }
}

/** The record of a job's bundle: one per job file, copy of eddy and version of this builder. */
function recordPath(file: string, eddyEntry: string): string {
  return join(JOB_BUNDLE_DIR, `${hashOf(file, eddyEntry, fileHash(fileURLToPath(import.meta.url)))}.json`);
}

/** The bundle of `file` built before, if every file it was built from is unchanged. */
export function reusableBundle(file: string, eddyEntry: string): string | undefined {
  let built: BuiltFrom;
  try {
    built = JSON.parse(readFileSync(recordPath(file, eddyEntry), 'utf8')) as BuiltFrom;
  } catch {
    return undefined;
  }
  if (!existsSync(built.bundle)) return undefined;
  return built.files.every(([path, hash]) => fileHash(path) === hash) ? built.bundle : undefined;
}

/**
 * What stands for a package the bundle imports by URL: the install's lock file (npm rewrites it
 * whenever node_modules changes), else the file the package resolved to.
 */
function packageWitness(resolved: string): string {
  const i = resolved.lastIndexOf(`${sep}node_modules${sep}`);
  if (i >= 0) {
    const lock = join(resolved.slice(0, i), 'node_modules', '.package-lock.json');
    if (existsSync(lock)) return lock;
  }
  return resolved;
}

/** Writes `text` to `path` whole or not at all: another process may be reading the same name. */
function writeWhole(path: string, text: string): void {
  const part = `${path}.${process.pid}.part`;
  writeFileSync(part, text);
  renameSync(part, path);
}

/** The bundle's absolute path, or undefined when esbuild cannot build the job. */
export async function bundleJob(file: string, eddyEntry: string): Promise<string | undefined> {
  const reused = reusableBundle(file, eddyEntry);
  if (reused !== undefined) return reused;
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    return undefined;
  }
  let text: string;
  const read = new Set<string>();
  const packages = new Set<string>();
  try {
    const out = await esbuild.build({
      entryPoints: [file],
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      write: false,
      metafile: true,
      sourcemap: 'inline',
      sourcesContent: false,
      logLevel: 'silent',
      plugins: [
        {
          name: 'eddy-job',
          setup(b) {
            // Not relative, not absolute: a package, a built-in, or eddy itself.
            b.onResolve({ filter: /^[^./]/ }, async (args) => {
              if (args.pluginData === RESOLVING) return undefined;
              const eddy = eddyModuleUrl(args.path, eddyEntry);
              if (eddy !== undefined) return { path: eddy, external: true };
              if (isBuiltin(args.path)) return { path: args.path, external: true };
              const r = await b.resolve(args.path, {
                kind: args.kind,
                resolveDir: args.resolveDir,
                importer: args.importer,
                pluginData: RESOLVING,
              });
              if (r.errors.length > 0) return { errors: r.errors };
              packages.add(packageWitness(r.path));
              return { path: pathToFileURL(r.path).href, external: true };
            });
            b.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, (args) => {
              const loader = LOADERS[extname(args.path)];
              if (!loader) return undefined;
              const own = {
                url: JSON.stringify(pathToFileURL(args.path).href),
                filename: JSON.stringify(args.path),
                dirname: JSON.stringify(dirname(args.path)),
              };
              const contents = readFileSync(args.path, 'utf8').replace(IMPORT_META, (_, k: 'url' | 'filename' | 'dirname') => own[k]);
              return { contents, loader, resolveDir: dirname(args.path) };
            });
          },
        },
      ],
    });
    text = out.outputFiles[0]!.text;
    for (const input of Object.keys(out.metafile.inputs)) read.add(resolve(input));
  } catch {
    return undefined;
  }
  const path = join(JOB_BUNDLE_DIR, `${hashOf(file, text)}.mjs`);
  mkdirSync(JOB_BUNDLE_DIR, { recursive: true });
  if (!existsSync(path)) writeWhole(path, text);
  const files = [...read, ...packages].map((f): [string, string] => [f, fileHash(f)]);
  writeWhole(recordPath(file, eddyEntry), JSON.stringify({ bundle: path, files } satisfies BuiltFrom));
  return path;
}
