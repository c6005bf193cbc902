import { parseLenientJson } from '../../lib/protocol/lenient-json';

describe('parseLenientJson', () => {
  describe('strict JSON', () => {
    it.each([
      '{}',
      '[]',
      '{"a":1,"b":[true,false,null],"c":{"d":"e"}}',
      '[1,-2,3.5,-0.25,1e3,2E-2,"x"]',
      '"plain"',
      '0',
      'true',
      'null',
      '  {\n\t"pretty" : [ 1 , 2 ]\r\n}  ',
    ])('parses %j like JSON.parse', (text) => {
      expect(parseLenientJson(text)).toEqual(JSON.parse(text));
    });

    it('lets the last of duplicate keys win', () => {
      expect(parseLenientJson("{a:1,'a':2,\"a\":3}")).toEqual({ a: 3 });
    });
  });

  describe('quotes', () => {
    it('accepts single-quoted keys and strings', () => {
      expect(parseLenientJson("{'type':'x','n':'1'}")).toEqual({ type: 'x', n: '1' });
    });

    it('mixes single and double quotes', () => {
      expect(parseLenientJson(`{'a':"b","c":'d'}`)).toEqual({ a: 'b', c: 'd' });
    });

    it('keeps a raw double quote inside single quotes and vice versa', () => {
      expect(parseLenientJson(`'say "hi"'`)).toBe('say "hi"');
      expect(parseLenientJson(`{'k':"it's"}`)).toEqual({ k: "it's" });
    });

    it('keeps non-ASCII text and emoji as they are', () => {
      expect(parseLenientJson("{'msg':'héllo 你好 😀'}")).toEqual({ msg: 'héllo 你好 😀' });
    });

    it('rejects an unterminated string', () => {
      expect(parseLenientJson("'abc")).toBeUndefined();
      expect(parseLenientJson('{"k":"v')).toBeUndefined();
      expect(parseLenientJson("{'k':'v}")).toBeUndefined();
    });
  });

  describe('unquoted literals', () => {
    it('reads true, false and null as literals', () => {
      expect(parseLenientJson('{a:true,b:false,c:null}')).toEqual({ a: true, b: false, c: null });
    });

    it.each<[string, number]>([
      ['1', 1],
      ['-1', -1],
      ['1.5', 1.5],
      ['.5', 0.5],
      ['1.', 1],
      ['1e5', 100000],
      ['-2E-2', -0.02],
    ])('reads the number %s', (lit, n) => {
      expect(parseLenientJson(`{v:${lit}}`)).toEqual({ v: n });
    });

    it.each(['alice', 'abc-123', '+1', '-', 'NaN', 'Infinity', '1.2.3', 'True', 'NULL', '0x10'])(
      'reads %s as a string',
      (lit) => {
        expect(parseLenientJson(`{v:${lit}}`)).toEqual({ v: lit });
      },
    );

    it('reads unquoted keys, including numeric-looking ones, as strings', () => {
      expect(parseLenientJson('{type:1, 2:two, from-id:x}')).toEqual({ type: 1, '2': 'two', 'from-id': 'x' });
    });

    it('ends a literal at whitespace and structural characters', () => {
      expect(parseLenientJson('[a,b c]')).toBeUndefined();
      expect(parseLenientJson('{a:b#c}')).toBeUndefined();
      expect(parseLenientJson('{a:b;c}')).toBeUndefined();
      expect(parseLenientJson('{a:b=c}')).toBeUndefined();
      expect(parseLenientJson('[a , b]')).toEqual(['a', 'b']);
    });

    it('accepts a bare top-level literal', () => {
      expect(parseLenientJson('hello')).toBe('hello');
      expect(parseLenientJson(' 42 ')).toBe(42);
    });
  });

  describe('escapes', () => {
    it.each<[string, string]>([
      ['\\n', '\n'],
      ['\\t', '\t'],
      ['\\r', '\r'],
      ['\\b', '\b'],
      ['\\f', '\f'],
      ['\\"', '"'],
      ["\\'", "'"],
      ['\\\\', '\\'],
      ['\\/', '/'],
      ['\\u00e9', 'é'],
      ['\\u00E9', 'é'],
      ['\\ud83d\\ude00', '😀'],
      ['\\q', 'q'],
    ])('decodes %s in a single-quoted string', (esc, out) => {
      expect(parseLenientJson(`'a${esc}b'`)).toBe(`a${out}b`);
    });

    it('decodes escapes in single-quoted keys', () => {
      expect(parseLenientJson("{'k\\u0031':1}")).toEqual({ k1: 1 });
    });

    it('rejects a malformed \\u escape', () => {
      expect(parseLenientJson("'\\u00zz'")).toBeUndefined();
      expect(parseLenientJson("'\\u12'")).toBeUndefined();
      expect(parseLenientJson("'\\u")).toBeUndefined();
    });

    it('rejects a backslash at the end of input', () => {
      expect(parseLenientJson("'ab\\")).toBeUndefined();
    });
  });

  describe('nesting limit', () => {
    const arrays = (n: number, inner = '') => '['.repeat(n) + inner + ']'.repeat(n);
    const objects = (n: number, inner = '{}') => '{a:'.repeat(n) + inner + '}'.repeat(n);

    it('accepts values up to depth 32 (33 nested empty arrays)', () => {
      expect(parseLenientJson(arrays(33))).toBeDefined();
      expect(parseLenientJson(arrays(32, '1'))).toBeDefined();
      expect(parseLenientJson(objects(32))).toBeDefined();
    });

    it('rejects a value deeper than 32', () => {
      expect(parseLenientJson(arrays(34))).toBeUndefined();
      expect(parseLenientJson(arrays(33, '1'))).toBeUndefined();
      expect(parseLenientJson(objects(33))).toBeUndefined();
    });

    it('rejects very deep input without throwing (no stack overflow)', () => {
      expect(() => parseLenientJson(arrays(200000))).not.toThrow();
      expect(parseLenientJson(arrays(200000))).toBeUndefined();
      expect(parseLenientJson('{a:'.repeat(100000))).toBeUndefined();
    });
  });

  describe('structure and trailing garbage', () => {
    it.each([
      ['trailing text', '{a:1} b'],
      ['a trailing brace', '{a:1}}'],
      ['two values', '1 2'],
      ['two objects', '{a:1}{b:2}'],
      ['two words', 'abc def'],
      ['a trailing comma in an object', '{a:1,}'],
      ['a trailing comma in an array', '[1,]'],
      ['a leading comma in an array', '[,1]'],
      ['a missing comma', '{a:1 b:2}'],
      ['a missing colon', '{a 1}'],
      ['a key with a space', '{a b:1}'],
      ['an empty key', '{:1}'],
      ['a missing value', '{a:}'],
      ['an unclosed object', '{a:1'],
      ['an unclosed array', '[1,2'],
      ['an empty input', ''],
      ['whitespace only', '  \n '],
      ['a lone closing brace', '}'],
    ])('rejects %s', (_n, text) => {
      expect(parseLenientJson(text)).toBeUndefined();
    });

    it('allows whitespace after the value', () => {
      expect(parseLenientJson("{'a':1}  \n\t")).toEqual({ a: 1 });
    });

    it('parses empty containers with inner whitespace', () => {
      expect(parseLenientJson('{ }')).toEqual({});
      expect(parseLenientJson('[ ]')).toEqual([]);
    });

    it('returns undefined, never throws, on garbage', () => {
      const samples = ['\\', "'", '"', '{', '[', ']', ':', ',', '{{', '[[]', "{'a'", '{a:[}', '\u0000', '\ud800'];
      for (const s of samples) expect(() => parseLenientJson(s)).not.toThrow();
    });
  });

  // BUG (lib/protocol/lenient-json.ts:59, `out[key] = this.readValue(...)` on a
  // `{}` literal): the key "__proto__" goes through the __proto__ setter, so it
  // replaces the object's prototype instead of becoming an own key. JSON.parse
  // creates an own "__proto__" property. Expected: same result as JSON.parse.
  it('treats a "__proto__" key as an ordinary own key, like JSON.parse', () => {
    const o = parseLenientJson("{'__proto__':{'type':5}}") as Record<string, unknown>;
    expect(o.type).toBeUndefined();
    expect(Object.keys(o)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(o, '__proto__')?.value).toEqual({ type: 5 });
  });
});
