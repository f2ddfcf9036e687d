/** The LMDB state cache's default budget (a leaf module: settings import it without lmdb). */
export const DEFAULT_STATE_CACHE_MB = 256;
