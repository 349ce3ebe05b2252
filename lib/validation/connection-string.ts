import { Client } from 'pg';
import { PgQueueConfigError } from '../errors';
import { messages } from '../errors/messages';

/**
 * Refuses, before any connection is tried, a connection string that can never work, which would otherwise be
 * waited for at bootstrap as if the server were down. It is parsed the way the pool will parse it, by a node-postgres
 * Client that is never connected, so every form node-postgres takes is accepted: URLs of any scheme (it ignores the
 * scheme), `socket:` URLs, and socket directories. node-postgres resolves a string without a scheme against a
 * dummy base URL (host "base"), so those are refused, and key=value strings, which it does not read, among them.
 */
export function checkConnectionString(option: string, value: unknown): void {
  if (typeof value !== 'string') throw new PgQueueConfigError(messages.invalidOption(option, value, 'a string'));
  const refuse = (why: string) => new PgQueueConfigError(messages.invalidConnectionString(option, why));
  if (value.trim() === '') throw refuse('it is empty');
  if (/^\s*[a-z_]+\s*=/i.test(value)) throw refuse('node-postgres does not read key=value connection strings');
  if (!/^([a-z][a-z0-9+.-]*:\/\/|socket:|\/)/i.test(value)) throw refuse('it lacks a scheme such as postgres://');
  let port: number;
  try {
    ({ port } = new Client({ connectionString: value }));
  } catch (error) {
    // The message never repeats the string: it may hold a password.
    throw refuse(`node-postgres cannot use it (${(error as Error).message})`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw refuse(`its port ${port} is not from 1 to 65535`);
}
