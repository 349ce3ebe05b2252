import { messages } from '../errors/messages';

const MAX_DEPTH = 200;
/** NUL or a UTF-16 surrogate: most strings have neither, and skip the character loop. */
const SUSPECT_CHARACTER = /[\u0000\ud800-\udfff]/;

/**
 * Serializes a value that must be plain JSON, or throws `fail(path, why)`.
 * Object properties whose value is undefined are dropped (as JSON.stringify does);
 * everything else that JSON or jsonb would change or reject is refused.
 */
export function toPlainJson(value: unknown, fail: (message: string) => Error): string {
  new PlainJsonCheck(fail).check(value, 0);
  return JSON.stringify(value);
}

/** One walk over a value. The path is a stack, spelled out only for an error: a valid value builds no strings. */
class PlainJsonCheck {
  private readonly path: Array<string | number> = [];
  private readonly seen = new Set<object>();

  constructor(private readonly fail: (message: string) => Error) {}

  check(v: unknown, depth: number): void {
    if (depth > MAX_DEPTH) throw this.refuse(`nested deeper than ${MAX_DEPTH} levels`);
    switch (typeof v) {
      case 'string': {
        const why = stringProblem(v);
        if (why) throw this.refuse(why);
        return;
      }
      case 'number':
        if (!Number.isFinite(v)) throw this.refuse(`${v} is not representable in JSON`);
        return;
      case 'boolean':
        return;
      case 'undefined':
        throw this.refuse('undefined is not JSON (use null)');
      case 'object':
        if (v === null) return;
        return Array.isArray(v) ? this.checkArray(v, depth) : this.checkObject(v, depth);
      default:
        throw this.refuse(`a ${typeof v} is not JSON`);
    }
  }

  private checkArray(v: unknown[], depth: number): void {
    this.enter(v);
    for (let i = 0; i < v.length; i++) {
      this.path.push(i);
      this.check(v[i], depth + 1); // holes are undefined: refused
      this.path.pop();
    }
    this.seen.delete(v);
  }

  private checkObject(v: object, depth: number): void {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      const kind = v.constructor?.name ?? 'object';
      throw this.refuse(`${kind} is not a plain object (convert it, e.g. a Date with toISOString())`);
    }
    if ('toJSON' in v) throw this.refuse('objects with toJSON are not plain JSON');
    this.enter(v);
    for (const key of Object.keys(v)) {
      this.path.push(key);
      const why = stringProblem(key);
      if (why) throw this.refuse(why, ' (key)');
      const item = (v as Record<string, unknown>)[key];
      if (item !== undefined) this.check(item, depth + 1);
      this.path.pop();
    }
    this.seen.delete(v);
  }

  private enter(v: object): void {
    if (this.seen.has(v)) throw this.refuse('circular reference');
    this.seen.add(v);
  }

  /** `$.rows[0].total` */
  private refuse(why: string, suffix = ''): Error {
    const path = this.path.map((step) => (typeof step === 'number' ? `[${step}]` : `.${step}`)).join('');
    return this.fail(messages.invalidPayload(`$${path}${suffix}`, why));
  }
}

/** Why PostgreSQL cannot store the string, or undefined when it can. */
function stringProblem(s: string): string | undefined {
  if (!SUSPECT_CHARACTER.test(s)) return undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return 'NUL characters (\\u0000) cannot be stored by PostgreSQL';
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return 'lone UTF-16 surrogate';
    }
    if (c >= 0xdc00 && c <= 0xdfff) return 'lone UTF-16 surrogate';
  }
  return undefined;
}
