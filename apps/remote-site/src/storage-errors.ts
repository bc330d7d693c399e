import { statfsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * What SQLite's errors on the site's data file mean for the person running the site, and what to
 * do. A failed write never leaves half a cycle behind (every batch is applied in one transaction),
 * so each message also says that nothing is lost and that the next sync continues from the file.
 */
export interface StorageProblem {
  /** the SQLite error code (better-sqlite3's `code`), e.g. SQLITE_FULL */
  readonly code: string;
  readonly cause: 'disk-full' | 'write-failed' | 'locked' | 'read-only' | 'cannot-open' | 'damaged';
  /** what happened and what to do, naming the file */
  readonly message: string;
}

const AGAIN =
  'then run `sitesync-remote sync` again (`sitesync-remote run` retries by itself). Nothing is lost: the failed step was not kept, and the next cycle continues from what the file holds.';

/** Below this much free space, a failed write is most likely a full disk. */
const LOW_SPACE = 64 * 1024 * 1024;

/** The free space on the disk holding `file`, or null if it cannot be read. */
function freeBytes(file: string): number | null {
  try {
    const { bavail, bsize } = statfsSync(dirname(file));
    return Number(bavail) * Number(bsize);
  } catch {
    return null;
  }
}

function megabytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.round(bytes / 1024)} KB`;
}

/** Why a write that SQLite could not complete failed, from the free space left on the file's disk. */
function whyWriteFailed(free: number | null): string {
  const grow = 'the file cannot grow (a disk quota, or a file size limit such as `ulimit -f`)';
  if (free === null) return `the disk is probably full, or ${grow}, or the disk is failing`;
  if (free < LOW_SPACE) return `the disk is probably full (${megabytes(free)} free), or ${grow}, or the disk is failing`;
  return `its disk has ${megabytes(free)} free, so ${grow.replace('the file cannot', 'the file probably cannot')}, or the disk is failing`;
}

/** The SQLite error behind `error`, or null when it is not one (better-sqlite3's SqliteError has a `code` starting SQLITE_). */
function sqliteError(error: unknown): { readonly code: string; readonly message: string } | null {
  for (let e: unknown = error, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && code.startsWith('SQLITE_')) return { code, message: typeof message === 'string' ? message : code };
  }
  return null;
}

/**
 * A clear description of a storage failure on the site's data file `dataFile`, or null when
 * `error` is not one (a network failure, a refusal by the central: shown as they are).
 */
export function describeStorageError(error: unknown, dataFile: string): StorageProblem | null {
  const sqlite = sqliteError(error);
  if (!sqlite) return null;
  const file = resolve(dataFile);
  const { code } = sqlite;
  const free = freeBytes(file);

  if (code === 'SQLITE_FULL') {
    return {
      code,
      cause: 'disk-full',
      message:
        `The disk holding the site's data file ${file} is full${free === null ? '' : ` (${megabytes(free)} free)`}, or the file has reached the largest size allowed to it: ` +
        `SQLite could not write to it (${code}). Free space on that disk, or move the file to a larger one, ${AGAIN}`,
    };
  }
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED' || code.startsWith('SQLITE_LOCKED_')) {
    return {
      code,
      cause: 'locked',
      message:
        `The site's data file ${file} is locked by another process (${code}: ${sqlite.message}; SQLite waited for it and gave up). ` +
        'Close the other program that has it open (another `sitesync-remote sync` or `run` on the same file, a database browser, a backup or copy in progress), ' +
        AGAIN,
    };
  }
  if (code === 'SQLITE_ERROR' && /cannot rollback - no transaction is active/i.test(sqlite.message)) {
    // SQLite rolls a transaction back by itself when a write fails for want of space (SQLITE_FULL)
    // or on an I/O error; the ROLLBACK sent after it then fails, and this is the error that is left.
    return {
      code,
      cause: 'write-failed',
      message:
        `A write to the site's data file ${file} failed and SQLite abandoned the transaction by itself: ${whyWriteFailed(free)}. ` +
        `Free space, lift the limit or fix the disk, ${AGAIN}`,
    };
  }
  if (code.startsWith('SQLITE_IOERR')) {
    return {
      code,
      cause: 'write-failed',
      message:
        `Reading or writing the site's data file ${file} failed (${code}: ${sqlite.message}): ${whyWriteFailed(free)}. ` +
        `Free space, lift the limit or fix the disk, ${AGAIN}`,
    };
  }
  if (code.startsWith('SQLITE_READONLY') || code === 'SQLITE_PERM' || code === 'SQLITE_AUTH') {
    return {
      code,
      cause: 'read-only',
      message: `The site's data file ${file} cannot be written (${code}: ${sqlite.message}): give the user running sitesync-remote write access to the file and its directory (SQLite also writes ${file}-wal and ${file}-shm there), ${AGAIN}`,
    };
  }
  if (code.startsWith('SQLITE_CANTOPEN')) {
    return {
      code,
      cause: 'cannot-open',
      message: `The site's data file ${file} cannot be opened (${code}): check that its directory exists and can be written by the user running sitesync-remote, or pass the right file with --data (or SITESYNC_DATA).`,
    };
  }
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return {
      code,
      cause: 'damaged',
      message: `The site's data file ${file} is damaged or is not a sitesync data file (${code}: ${sqlite.message}). Do not write to it: keep a copy, restore the site from its latest backup (or initialise a new file, \`sitesync-remote init\`), and sync.`,
    };
  }
  return null;
}
