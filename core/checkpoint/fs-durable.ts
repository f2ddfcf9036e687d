/**
 * The few durable file-system steps checkpoint storage is built from. A rename is atomic, but
 * only an fsync of the file before it and of the directory after it makes the new name survive
 * a power cut or a kernel crash; without them the directory entry may point at a file whose
 * blocks were never written.
 */
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Writes all of `data` (parts: one after the other) to a new file and fsyncs it before closing. */
export async function writeAndSync(
  path: string,
  data: Uint8Array | string | readonly Uint8Array[],
  flag: 'w' | 'wx',
  mode = 0o666,
): Promise<void> {
  const fh = await open(path, flag, mode);
  try {
    // Each writeFile writes all it is given from the current position: no joined copy of the parts.
    if (Array.isArray(data)) for (const part of data as readonly Uint8Array[]) await fh.writeFile(part);
    else await fh.writeFile(data as Uint8Array | string);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Replaces `path` atomically and durably: a temporary file beside it (`<path>.tmp`), fsync,
 * rename, fsync of the directory. Readers see the old content or the new, never a torn file.
 */
export async function replaceDurably(path: string, data: Uint8Array | string, mode = 0o666): Promise<void> {
  const tmp = `${path}.tmp`;
  try {
    await writeAndSync(tmp, data, 'w', mode);
    await rename(tmp, path);
    await syncDir(dirname(path));
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

/** Persists a directory's entries (a rename, create or unlink inside it). */
export async function syncDir(dir: string): Promise<void> {
  // Windows cannot open a directory; NTFS journals metadata changes itself.
  if (process.platform === 'win32') return;
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** mkdir -p that also persists the entry of every directory it created in its parent. */
export async function mkdirDurable(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  for (let d = dir; ; d = dirname(d)) {
    await syncDir(dirname(d));
    if (d === first || dirname(d) === d) break;
  }
}

export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

export async function pathExists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
