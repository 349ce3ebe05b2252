import { messages } from '../../lib/errors/messages';
import { toPlainJson } from '../../lib/validation/json-value';

/** What toPlainJson throws: the error its caller builds from the path and the reason. */
class Refusal extends Error {
  constructor(
    readonly path: string,
    readonly why: string,
  ) {
    super(`${path}: ${why}`);
  }
}

const toJson = (value: unknown) => toPlainJson(value, (path, why) => new Refusal(path, why));

/** The refusal toPlainJson throws for `value`; fails the test when it throws none. */
function refusalOf(value: unknown): Refusal {
  try {
    toJson(value);
  } catch (error) {
    if (error instanceof Refusal) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

const why = messages.notJson;

class Money {
  constructor(
    readonly amount: number,
    readonly currency: string,
  ) {}
  get label() {
    return `${this.amount} ${this.currency}`;
  }
  double() {
    return new Money(this.amount * 2, this.currency);
  }
}
class OrderDto {
  id = 'order-1';
  lines = [new Money(5, 'EUR')];
  note: string | undefined = undefined;
}
class Cents {
  constructor(readonly value: number) {}
  toJSON() {
    return this.value / 100;
  }
}
class SortedMap extends Map<string, number> {}

describe('toPlainJson: what it accepts', () => {
  it('returns JSON.stringify of JSON primitives, plain objects and arrays', () => {
    expect(toJson(null)).toBe('null');
    expect(toJson('text')).toBe('"text"');
    expect(toJson(-1.5)).toBe('-1.5');
    expect(toJson(false)).toBe('false');
    expect(toJson({ a: [1, 'two', { three: null }], b: true })).toBe('{"a":[1,"two",{"three":null}],"b":true}');
    expect(toJson([])).toBe('[]');
  });

  it('takes class instances (DTOs) by their own enumerable keys, without getters or methods', () => {
    expect(toJson(new Money(5, 'EUR'))).toBe('{"amount":5,"currency":"EUR"}');
    expect(toJson(new OrderDto())).toBe('{"id":"order-1","lines":[{"amount":5,"currency":"EUR"}]}');
  });

  it('takes objects without a prototype', () => {
    const bare = Object.assign(Object.create(null) as object, { a: 1 });
    expect(toJson(bare)).toBe('{"a":1}');
  });

  it('drops undefined properties and leaves out symbol keys and non-enumerable ones, as JSON.stringify does', () => {
    const value = { kept: 1, dropped: undefined, [Symbol('s')]: 2 };
    Object.defineProperty(value, 'hidden', { value: 3, enumerable: false });
    expect(toJson(value)).toBe('{"kept":1}');
  });

  it('takes a toJSON key that is not a function as an ordinary key', () => {
    expect(toJson({ toJSON: 'just data' })).toBe('{"toJSON":"just data"}');
  });

  it('takes the same object twice when it is not a cycle', () => {
    const shared = { n: 1 };
    expect(toJson({ x: shared, y: [shared] })).toBe('{"x":{"n":1},"y":[{"n":1}]}');
  });

  it('takes strings with surrogate pairs', () => {
    expect(toJson({ emoji: '\u{1F600}' })).toBe(JSON.stringify({ emoji: '\u{1F600}' }));
  });

  it('takes nesting 200 levels deep, and not 201', () => {
    const nest = (levels: number): unknown => (levels === 0 ? 1 : [nest(levels - 1)]);
    expect(toJson(nest(200))).toBe(`${'['.repeat(200)}1${']'.repeat(200)}`);
    const refusal = refusalOf(nest(201));
    expect(refusal.why).toBe(why.tooDeep(200));
    expect(refusal.path).toBe(`$${'[0]'.repeat(201)}`);
  });
});

describe('toPlainJson: what it refuses, where, and why', () => {
  it.each([
    ['a Date', { when: new Date(0) }, '$.when', why.date()],
    ['a Map', { m: new Map([['a', 1]]) }, '$.m', why.collection('Map')],
    ['a Set', { s: new Set([1]) }, '$.s', why.collection('Set')],
    ['a Map subclass', { m: new SortedMap() }, '$.m', why.collection('SortedMap')],
    ['a Buffer', { file: Buffer.from('hi') }, '$.file', why.binary('Buffer')],
    ['a typed array', [new Uint8Array(2)], '$[0]', why.binary('Uint8Array')],
    ['an ArrayBuffer', { raw: new ArrayBuffer(4) }, '$.raw', why.binary('ArrayBuffer')],
    ['a function', { fn: () => 1 }, '$.fn', why.type('function')],
    ['a symbol', { s: Symbol('x') }, '$.s', why.type('symbol')],
    ['a bigint', { n: 1n }, '$.n', why.type('bigint')],
    ['NaN', { rows: [{ total: NaN }] }, '$.rows[0].total', why.notFinite(NaN)],
    ['Infinity', { n: Infinity }, '$.n', why.notFinite(Infinity)],
    ['undefined at the top', undefined, '$', why.undefined()],
    ['undefined in an array', [1, undefined], '$[1]', why.undefined()],
    ['an array hole', [1, , 3], '$[1]', why.undefined()], // eslint-disable-line no-sparse-arrays
    ['a toJSON method', { price: new Cents(150) }, '$.price', why.toJSON('Cents')],
    ['a toJSON method on a plain object', { toJSON: () => 'x' }, '$', why.toJSON('object')],
    ['a boxed primitive', { s: new String('x') }, '$.s', why.boxed('String')],
    ['a Promise', { p: Promise.resolve(1) }, '$.p', why.promise()],
    ['a RegExp', { r: /x/ }, '$.r', why.hidden('RegExp')],
    ['an Error', { e: new TypeError('x') }, '$.e', why.hidden('TypeError')],
    ['a NUL character', { s: 'a\u0000b' }, '$.s', why.nul()],
    ['a NUL character in a key', { 'a\u0000': 1 }, '$.a\u0000 (key)', why.nul()],
    ['a lone surrogate', ['\ud800'], '$[0]', why.loneSurrogate()],
    ['a lone low surrogate', ['x\udc00'], '$[0]', why.loneSurrogate()],
  ])('refuses %s', (_, value, path, reason) => {
    const refusal = refusalOf(value);
    expect(refusal.path).toBe(path);
    expect(refusal.why).toBe(reason);
  });

  it('refuses a cycle where it closes', () => {
    const node: { name: string; children: unknown[] } = { name: 'root', children: [] };
    node.children.push({ parent: node });
    const refusal = refusalOf(node);
    expect(refusal.path).toBe('$.children[0].parent');
    expect(refusal.why).toBe(why.circular());
  });

  it('refuses a value whose getter throws, at the getter', () => {
    const value = {
      ok: 1,
      get broken(): number {
        throw new RangeError('no value');
      },
    };
    const refusal = refusalOf(value);
    expect(refusal.path).toBe('$.broken');
    expect(refusal.why).toBe(why.threw('RangeError: no value'));
  });

  it('throws the error its caller builds', () => {
    class PayloadRefused extends Error {}
    expect(() => toPlainJson({ when: new Date(0) }, (path, reason) => new PayloadRefused(`${path} ${reason}`))).toThrow(PayloadRefused);
  });
});
