/**
 * Client libraries of external systems (pg, node-redis, nats.js) load on first use, not when
 * 'eddy' is imported: every worker thread imports the job module and with it 'eddy', so an
 * eager import made every job pay ~0.15 s of start-up and ~20 MB per thread for clients it
 * never uses. Each of these packages ships a CommonJS entry, so a synchronous require serves.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** `lazyModule<typeof M>('pkg')()` is the package's exports, required the first time it is called. */
export function lazyModule<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(id) as T);
}
