import { types } from 'node:util';
import { messages } from '../errors/messages';

const MAX_DEPTH = 200;
/** NUL or a UTF-16 surrogate: most strings have neither, and skip the character loop. */
const SUSPECT_CHARACTER = /[\u0000\ud800-\udfff]/;
const why = messages.notJson;

/**
 * Serializes a value that must be JSON data, or throws `fail(path, why)`. The value is accepted only when
 * JSON.stringify carries all of it: plain objects, arrays and class instances (by their own enumerable string
 * keys, as JSON.stringify reads them). Properties whose value is undefined are dropped, and symbol-keyed or
 * non-enumerable ones left out, as JSON.stringify does; everything else that JSON or jsonb would change or reject
 * is refused. The string returned is JSON.stringify's: what is checked is what is stored.
 */
export function toPlainJson(value: unknown, fail: (path: string, why: string) => Error): string {
  new PlainJsonCheck(fail).run(value);
  try {
    return JSON.stringify(value);
  } catch (error) {
    // Only a getter or Proxy that answers differently on the second read gets here.
    throw fail('$', why.threw(errorText(error)));
  }
}

/** One walk over a value. The path is a stack, spelled out only for an error: a valid value builds no strings. */
class PlainJsonCheck {
  private readonly path: Array<string | number> = [];
  private readonly seen = new Set<object>();
  private refusal: Error | undefined;

  constructor(private readonly fail: (path: string, why: string) => Error) {}

  run(value: unknown): void {
    try {
      this.check(value, 0);
    } catch (error) {
      // A getter or Proxy trap of the value threw: refused at the path being read, like any other bad value.
      if (error === this.refusal) throw error;
      throw this.refuse(why.threw(errorText(error)));
    }
  }

  private check(v: unknown, depth: number): void {
    if (depth > MAX_DEPTH) throw this.refuse(why.tooDeep(MAX_DEPTH));
    switch (typeof v) {
      case 'string': {
        const problem = stringProblem(v);
        if (problem) throw this.refuse(problem);
        return;
      }
      case 'number':
        if (!Number.isFinite(v)) throw this.refuse(why.notFinite(v));
        return;
      case 'boolean':
        return;
      case 'undefined':
        throw this.refuse(why.undefined());
      case 'object':
        if (v === null) return;
        return Array.isArray(v) ? this.checkArray(v, depth) : this.checkObject(v, depth);
      default:
        throw this.refuse(why.type(typeof v));
    }
  }

  private checkArray(v: unknown[], depth: number): void {
    if (hasToJSON(v)) throw this.refuse(why.toJSON(kindOf(v)));
    this.enter(v);
    for (let i = 0; i < v.length; i++) {
      this.path.push(i);
      this.check(v[i], depth + 1); // holes are undefined: refused
      this.path.pop();
    }
    this.seen.delete(v);
  }

  private checkObject(v: object, depth: number): void {
    const proto: unknown = Object.getPrototypeOf(v);
    // Plain objects skip this: only an instance can be a built-in whose data JSON does not see.
    if (proto !== Object.prototype && proto !== null) {
      const problem = builtInProblem(v);
      if (problem) throw this.refuse(problem);
    }
    // A toJSON that is not a function is an ordinary key to JSON.stringify, and so it is here.
    if (hasToJSON(v)) throw this.refuse(why.toJSON(kindOf(v)));
    this.enter(v);
    for (const key of Object.keys(v)) {
      this.path.push(key);
      const problem = stringProblem(key);
      if (problem) throw this.refuse(problem, ' (key)');
      const item = (v as Record<string, unknown>)[key];
      if (item !== undefined) this.check(item, depth + 1);
      this.path.pop();
    }
    this.seen.delete(v);
  }

  private enter(v: object): void {
    if (this.seen.has(v)) throw this.refuse(why.circular());
    this.seen.add(v);
  }

  /** `$.rows[0].total` */
  private refuse(problem: string, suffix = ''): Error {
    const path = this.path.map((step) => (typeof step === 'number' ? `[${step}]` : `.${step}`)).join('');
    return (this.refusal = this.fail(`$${path}${suffix}`, problem));
  }
}

/** JSON.stringify would store what toJSON returns instead: refused rather than run, as it may be anything. */
function hasToJSON(v: object): boolean {
  return typeof (v as { toJSON?: unknown }).toJSON === 'function';
}

/**
 * Why JSON cannot carry a built-in object that keeps its data in internal slots, not own properties, or
 * undefined for an ordinary instance. The brand checks see through subclasses and other realms.
 */
function builtInProblem(v: object): string | undefined {
  if (types.isDate(v)) return why.date();
  if (types.isMap(v) || types.isSet(v) || types.isWeakMap(v) || types.isWeakSet(v)) return why.collection(kindOf(v));
  if (ArrayBuffer.isView(v) || types.isAnyArrayBuffer(v)) return why.binary(kindOf(v));
  if (types.isBoxedPrimitive(v)) return why.boxed(kindOf(v));
  if (types.isPromise(v)) return why.promise();
  if (
    types.isRegExp(v) ||
    types.isNativeError(v) ||
    types.isGeneratorObject(v) ||
    types.isMapIterator(v) ||
    types.isSetIterator(v) ||
    v instanceof WeakRef
  ) {
    return why.hidden(kindOf(v));
  }
  return undefined;
}

/** `Money`, or `object` for plain ones: only for messages, so a hostile constructor getter cannot get in the way. */
function kindOf(v: object): string {
  try {
    const name: unknown = (Object.getPrototypeOf(v) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    return typeof name === 'string' && name !== '' && name !== 'Object' ? name : 'object';
  } catch {
    return 'object';
  }
}

function errorText(error: unknown): string {
  try {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return text.length > 200 ? `${text.slice(0, 200)}...` : text;
  } catch {
    return 'an unprintable value';
  }
}

/** Why PostgreSQL cannot store the string, or undefined when it can. */
function stringProblem(s: string): string | undefined {
  if (!SUSPECT_CHARACTER.test(s)) return undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return why.nul();
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return why.loneSurrogate();
    }
    if (c >= 0xdc00 && c <= 0xdfff) return why.loneSurrogate();
  }
  return undefined;
}
