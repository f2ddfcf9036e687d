/**
 * The specifiers a job module imports eddy by (package.json "exports": 'eddy', 'eddy/sql'),
 * mapped to the files of the copy of eddy that runs the job, for the resolve hook of job files
 * outside this package and for the job bundler, so that a job and the runtime share one set
 * of modules.
 */
const SUBPATHS = new Map([
  ['eddy', 'index.js'],
  ['eddy/sql', 'sql/index.js'],
]);

/** Every specifier of eddy → its URL in the copy of eddy whose entry is `eddyEntry` (for the resolve hook). */
export function eddyModuleUrls(eddyEntry: string): Record<string, string> {
  return Object.fromEntries([...SUBPATHS.keys()].map((s) => [s, eddyModuleUrl(s, eddyEntry)!]));
}

/** The URL of `specifier` in the copy of eddy whose entry is `eddyEntry`; undefined when it is not eddy's. */
export function eddyModuleUrl(specifier: string, eddyEntry: string): string | undefined {
  const file = SUBPATHS.get(specifier);
  return file === undefined ? undefined : new URL(file, eddyEntry).href;
}
