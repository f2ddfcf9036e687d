/**
 * Module resolve hook (node:module register): `import 'eddy'` from a job module anywhere on
 * disk resolves to the eddy that runs the job.
 */
let eddyEntry = '';

export function initialize(data: { eddyEntry: string }): void {
  eddyEntry = data.eddyEntry;
}

type Next = (specifier: string, context: unknown) => Promise<unknown>;

export async function resolve(specifier: string, context: unknown, next: Next): Promise<unknown> {
  if (specifier === 'eddy') return { url: eddyEntry, shortCircuit: true };
  return next(specifier, context);
}
