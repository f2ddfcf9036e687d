/**
 * Module resolve hook (node:module register), installed for job files outside this package:
 *
 * - `import 'eddy'` (and 'eddy/sql') from a job module anywhere on disk resolves to the eddy that runs the job.
 * - A `.ts`/`.tsx` file whose nearest package.json sets no "type" (or that has none, as in a
 *   scratch folder) is ESM. tsx would otherwise compile it to CommonJS, where `require('eddy')`
 *   follows node_modules and fails with "Cannot find module 'eddy'" (issue 12). Node itself
 *   treats a `.js` file with import syntax and no "type" as ESM; a job always imports eddy,
 *   so ESM is what the file means. A package that says "type": "commonjs" is left alone.
 *   tsx keeps a format that a later resolver in the chain gave it.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * 'eddy' and its subpaths → their URLs in the eddy that runs the job (eddy-specifiers.ts, given
 * by the thread that registers the hook: this module imports none of eddy's, whose imports
 * would resolve through the hook chain themselves).
 */
let eddyModules: Record<string, string> = {};

export function initialize(data: { eddyModules: Record<string, string> }): void {
  eddyModules = data.eddyModules;
}

type Next = (specifier: string, context: unknown) => Promise<{ url: string; format?: string | null }>;

const TS_FILE = /\.tsx?$/;
/** Folder → the "type" of the nearest package.json at or above it ('' when none says). */
const packageTypes = new Map<string, string>();

function packageType(dir: string): string {
  const known = packageTypes.get(dir);
  if (known !== undefined) return known;
  let type: string;
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { type?: unknown };
    type = typeof pkg.type === 'string' ? pkg.type : '';
  } catch {
    const parent = dirname(dir);
    type = parent === dir ? '' : packageType(parent);
  }
  packageTypes.set(dir, type);
  return type;
}

export async function resolve(specifier: string, context: unknown, next: Next): Promise<unknown> {
  if (Object.hasOwn(eddyModules, specifier)) return { url: eddyModules[specifier]!, shortCircuit: true };
  const resolved = await next(specifier, context);
  if (!resolved.format && resolved.url.startsWith('file:') && TS_FILE.test(resolved.url.split('?')[0]!)) {
    const type = packageType(dirname(fileURLToPath(resolved.url.split('?')[0]!)));
    if (type === '' || type === 'module') return { ...resolved, format: 'module' };
  }
  return resolved;
}
