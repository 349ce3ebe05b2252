import { createHash } from 'node:crypto';
import type { QueryConfig } from 'pg';

const names = new Map<string, string>();

/**
 * Runs `text` as a named prepared statement: parsed and planned once per connection, then only bound and executed.
 * The name derives from the text, so the statements of two schemas sharing one pool never collide.
 */
export function prepared(text: string, values: unknown[]): QueryConfig {
  let name = names.get(text);
  if (name === undefined) names.set(text, (name = `pgqueue_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`));
  return { name, text, values };
}
