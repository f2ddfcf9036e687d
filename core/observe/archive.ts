/**
 * A finished job's record in its checkpoint directory (`_job-record.json`, written atomically
 * like every checkpoint file), and reading it back for `eddy ui DIR`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { replaceDurably } from '../checkpoint/fs-durable.js';
import { EddyError, messageOf } from '../failure.js';
import type { JobViews } from './views.js';

export const ARCHIVE_FILE = '_job-record.json';

export async function writeArchive(dir: string, views: JobViews): Promise<void> {
  await replaceDurably(join(dir, ARCHIVE_FILE), `${JSON.stringify(views)}\n`, 0o644);
}

export async function readArchive(dir: string): Promise<JobViews> {
  const file = join(dir, ARCHIVE_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new EddyError('BAD_ARG', `no job record in ${dir} (${ARCHIVE_FILE} is written there when a job with that --checkpoint-dir ends)`);
  }
  try {
    const v = JSON.parse(text) as JobViews;
    if (typeof v.jid !== 'string' || typeof v.job !== 'object') throw new Error('missing jid or job');
    return v;
  } catch (err) {
    throw new EddyError('BAD_ARG', `${file} is not a job record (${messageOf(err)}); it may be damaged`);
  }
}
