import { createHash } from 'node:crypto';
import type { JobSelection } from '../db/job-selection';
import { InvalidCursorError } from '../errors';
import { messages } from '../errors/messages';
import { validateJobId } from '../validation/job-input';

/**
 * listJobs cursors: opaque text that says where the next page starts (the last job id of this one), with a digest of
 * that id and the filter it belongs to. A cursor is checked, never trusted: altered, used with another filter or not a
 * cursor at all, it is refused with InvalidCursorError, and only the id in it, as a parameter, reaches PostgreSQL.
 * Not signed with a secret: it grants nothing a listing does not (any id is a valid starting point), and so it stays
 * valid in every process of the application.
 */
const FORMAT = /^p1\.([1-9][0-9]{0,18})\.([0-9a-f]{16})$/;

export function encodeCursor(lastId: string, selection: JobSelection): string {
  return Buffer.from(`p1.${lastId}.${digestOf(lastId, selection)}`).toString('base64url');
}

/** The id after which the next page starts. */
export function decodeCursor(cursor: string, selection: JobSelection): string {
  const match = FORMAT.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  if (!match || Buffer.from(match[0], 'latin1').toString('base64url') !== cursor)
    throw new InvalidCursorError(messages.invalidCursor('it is not a cursor that listJobs issued'));
  const [, id, digest] = match;
  if (digest !== digestOf(id, selection))
    throw new InvalidCursorError(messages.invalidCursor('it was issued for another filter, or altered'));
  try {
    return validateJobId(id);
  } catch {
    throw new InvalidCursorError(messages.invalidCursor('it is not a cursor that listJobs issued'));
  }
}

/** The id and the filter a cursor belongs to, as 64 bits of their SHA-256. */
function digestOf(id: string, { statuses, type, queue, jobKey, createdAfter, createdBefore }: JobSelection): string {
  const canonical = JSON.stringify([id, statuses, type, queue, jobKey, createdAfter?.toISOString(), createdBefore?.toISOString()]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}
