const MAX_ERROR_CHARS = 8_000;
const MAX_CAUSE_DEPTH = 3;

/**
 * Describes any thrown value (Error, string, undefined, objects with cycles, hostile getters) as text that
 * PostgreSQL accepts: bounded in size and without NUL characters, so recording a failure can never fail.
 */
export function describeError(thrown: unknown): string {
  let text: string;
  try {
    text = describe(thrown, 0);
  } catch {
    text = 'Unprintable error';
  }
  return sanitize(text);
}

function describe(value: unknown, depth: number): string {
  if (value instanceof Error) {
    const stack = typeof value.stack === 'string' ? value.stack.slice(0, MAX_ERROR_CHARS) : '';
    const head = `${value.name}: ${String(value.message).slice(0, MAX_ERROR_CHARS)}`;
    const text = stack.includes(String(value.message).slice(0, 200)) ? stack : `${head}\n${stack}`;
    const cause = (value as { cause?: unknown }).cause;
    return cause !== undefined && depth < MAX_CAUSE_DEPTH ? `${text}\nCaused by: ${describe(cause, depth + 1)}` : text;
  }
  if (typeof value === 'string') return value.slice(0, MAX_ERROR_CHARS);
  if (value === undefined) return 'undefined was thrown';
  try {
    return `Non-error thrown: ${JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))?.slice(0, MAX_ERROR_CHARS)}`;
  } catch {
    return `Non-error thrown: ${Object.prototype.toString.call(value)}`;
  }
}

function sanitize(text: string): string {
  // Lone surrogates would be replaced by the UTF-8 encoder anyway; NUL is what PostgreSQL text refuses.
  const clean = text.replace(/\u0000/g, '\\0');
  return clean.length > MAX_ERROR_CHARS ? `${clean.slice(0, MAX_ERROR_CHARS)}... (truncated)` : clean;
}
