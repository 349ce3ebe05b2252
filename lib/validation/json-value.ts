import { messages } from '../errors/messages';

const MAX_DEPTH = 200;

/**
 * Serializes a value that must be plain JSON, or throws `fail(path, why)`.
 * Object properties whose value is undefined are dropped (as JSON.stringify does);
 * everything else that JSON or jsonb would change or reject is refused.
 */
export function toPlainJson(value: unknown, fail: (message: string) => Error): string {
  const seen = new Set<object>();
  const check = (v: unknown, path: string, depth: number): void => {
    if (depth > MAX_DEPTH) throw fail(messages.invalidPayload(path, `nested deeper than ${MAX_DEPTH} levels`));
    switch (typeof v) {
      case 'string':
        return checkString(v, path, fail);
      case 'number':
        if (!Number.isFinite(v)) throw fail(messages.invalidPayload(path, `${v} is not representable in JSON`));
        return;
      case 'boolean':
        return;
      case 'undefined':
        throw fail(messages.invalidPayload(path, 'undefined is not JSON (use null)'));
      case 'object':
        break;
      default:
        throw fail(messages.invalidPayload(path, `a ${typeof v} is not JSON`));
    }
    if (v === null) return;
    if (seen.has(v)) throw fail(messages.invalidPayload(path, 'circular reference'));
    if (Array.isArray(v)) {
      seen.add(v);
      for (let i = 0; i < v.length; i++) check(v[i], `${path}[${i}]`, depth + 1); // holes are undefined: refused
      seen.delete(v);
      return;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      const kind = (v as object).constructor?.name ?? 'object';
      throw fail(messages.invalidPayload(path, `${kind} is not a plain object (convert it, e.g. a Date with toISOString())`));
    }
    if ('toJSON' in v) throw fail(messages.invalidPayload(path, 'objects with toJSON are not plain JSON'));
    seen.add(v);
    for (const [key, item] of Object.entries(v)) {
      const itemPath = `${path}.${key}`;
      checkString(key, `${itemPath} (key)`, fail);
      if (item !== undefined) check(item, itemPath, depth + 1);
    }
    seen.delete(v);
  };
  check(value, '$', 0);
  return JSON.stringify(value);
}

function checkString(s: string, path: string, fail: (message: string) => Error): void {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) throw fail(messages.invalidPayload(path, 'NUL characters (\\u0000) cannot be stored by PostgreSQL'));
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      throw fail(messages.invalidPayload(path, 'lone UTF-16 surrogate'));
    }
    if (c >= 0xdc00 && c <= 0xdfff) throw fail(messages.invalidPayload(path, 'lone UTF-16 surrogate'));
  }
}
