/**
 * The one place that reads PostgreSQL's (and the socket's) errors: what a failure says about the connection, the
 * data, or the statement's transaction.
 */

/**
 * What a failure to connect (or of a first statement) means. `unreachable`: no connection yet, or a server that
 * cannot take one now (starting up, shutting down, every slot taken); worth waiting for. `refused`: PostgreSQL, or
 * the TLS layer, turned the connection away for a reason that does not heal by itself. `other`: not about the
 * connection at all (a missing privilege, a schema behind with `migrate: false`); the bootstrap fails with it as it is.
 */
export function connectionFailure(error: unknown): 'unreachable' | 'refused' | 'other' {
  const { code, message, syscall } = (error ?? {}) as { code?: unknown; message?: unknown; syscall?: unknown };
  const text = typeof code === 'string' ? code : '';
  const said = typeof message === 'string' ? message : '';
  // Refusals first: a TLS or authentication failure can also end in "Connection terminated".
  if (
    text.startsWith('28') || // invalid_authorization_specification, invalid_password: wrong user, password or pg_hba.conf
    text === '3D000' || // invalid_catalog_name: the database does not exist
    TLS_CODES.has(text) ||
    /^ERR_(TLS|SSL)_/.test(text) ||
    /does not support SSL|^SASL: |password must be a/i.test(said)
  )
    return 'refused';
  if (
    UNREACHABLE_CODES.has(text) ||
    (text === 'ENOENT' && syscall === 'connect') || // no socket file yet: a local server that has not started
    text.startsWith('08') || // connection_exception
    /Connection terminated|timeout exceeded when trying to connect/i.test(said)
  )
    return 'unreachable';
  return 'other';
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  // DNS: in a cluster, a database's name can resolve only once its service is up.
  'ENOTFOUND',
  'EAI_AGAIN',
  '53300', // too_many_connections: max_connections, or the role's or database's CONNECTION LIMIT; slots free up
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up, shutting down, in recovery
]);

/** Certificate checks that fail the same way on every attempt until someone changes a certificate or the settings. */
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
]);

/** SQLSTATE classes that blame the data, not the connection: retrying the same write cannot help. */
const DATA_ERROR_CLASSES = ['22', '23', '54'];

/** PostgreSQL refused the statement for its data (too large, invalid, a constraint): the same write fails again. */
export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && DATA_ERROR_CLASSES.includes(code.slice(0, 2));
}

/** An ERROR reported by the server aborts the statement's transaction; FATAL or a broken socket leave it unknown. */
export function isStatementRolledBack(error: unknown): boolean {
  const { severity, code } = (error ?? {}) as { severity?: unknown; code?: unknown };
  return severity === 'ERROR' && typeof code === 'string';
}

/** A write collided with an unfinished job holding the same job key (the partial unique index of 002). */
export function isJobKeyConflict(error: unknown): boolean {
  const { code, constraint } = (error ?? {}) as { code?: unknown; constraint?: unknown };
  return code === '23505' && constraint === 'jobs_job_key_idx';
}

/** PostgreSQL's query_canceled: a statement_timeout (or a cancel request) ended the statement. */
export function isStatementTimeout(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '57014';
}

/** PostgreSQL's deadlock_detected: it ended this statement's transaction to break a lock cycle; running it again is safe. */
export function isDeadlock(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '40P01';
}
