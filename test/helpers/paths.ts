// Paths of the repository from a compiled test (dist/test/...): fixtures are not compiled.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export function fixture(name: string): string {
  return join(repoRoot, 'test', 'fixtures', 'jobs', name);
}

/** The compiled `eddy` command, for tests that spawn it. */
export const cliPath = join(repoRoot, 'dist', 'core', 'cli', 'main.js');
