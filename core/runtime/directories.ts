/**
 * Folders the user names by flag (--checkpoint-dir, --local-dir) are made before any thread
 * starts, like `mkdir -p`: a folder that does not exist yet is the usual case for a new job, not
 * a mistake. What cannot be made (a file in the way, no permission, a read-only file system) is
 * refused with one line that names the flag and the path, instead of an ENOENT stack from
 * deep inside the run (--local-dir) or a job that fails and restarts in a loop
 * (--checkpoint-dir under a folder that cannot hold it).
 */
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { EddyError, messageOf } from '../failure.js';

function reason(err: unknown): string {
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ENOTDIR':
      return 'a file is in the way of one of its parent folders';
    case 'ENOENT':
      return 'one of its parent folders cannot hold folders';
    case 'ENOSPC':
      return 'the disk is full';
    default:
      return messageOf(err);
  }
}

/** Makes the folder (and its parents) if needed and returns its absolute path; refuses what cannot be a writable folder. */
export function ensureDirectory(path: string, flag: string): string {
  const abs = resolve(path);
  try {
    mkdirSync(abs, { recursive: true });
  } catch (err) {
    const isFile = (err as { code?: string }).code === 'EEXIST' && !statSync(abs, { throwIfNoEntry: false })?.isDirectory();
    if (isFile) throw new EddyError('BAD_FLAG', `${flag} ${path} is a file, not a folder; give a folder (it is created if missing)`);
    throw new EddyError('BAD_FLAG', `${flag} ${path}: cannot create the folder (${reason(err)}); give a folder eddy can write to`);
  }
  try {
    accessSync(abs, constants.W_OK);
  } catch (err) {
    throw new EddyError('BAD_FLAG', `${flag} ${path}: cannot write to the folder (${reason(err)}); give a folder eddy can write to`);
  }
  return abs;
}
