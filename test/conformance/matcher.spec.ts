/**
 * Pure unit tests for the conformance runner's placeholder, matcher and
 * keyOrder logic (no server, no sockets).
 */
import {
  checkKeyOrder,
  createContext,
  fpFor,
  Json,
  loadScenarios,
  matchValue,
  padText,
  PlaceholderContext,
  resolvePacket,
  Scenario,
  ScenarioError,
  substitute,
  substituteForDisplay,
  substituteString,
  substituteText,
  topLevelKeys,
  uidFor,
  validateScenario,
} from './scenario-runner';
import { SCENARIO_DIR } from './scenario-dir';


function ctxWith(vars: Record<string, Json> = {}, suffix = 'abc123'): PlaceholderContext {
  const ctx = createContext(suffix);
  for (const [k, v] of Object.entries(vars)) ctx.vars.set(k, v);
  return ctx;
}

function matches(matcher: Json, actual: Json | undefined, ctx = ctxWith()): boolean {
  return matchValue(matcher, actual, ctx).ok;
}

function mismatchOf(matcher: Json, actual: Json | undefined, ctx = ctxWith()): string {
  const r = matchValue(matcher, actual, ctx);
  if (r.ok) throw new Error('expected a mismatch');
  return `${r.mismatch.path}: ${r.mismatch.reason}`;
}

describe('placeholders', () => {
  it('builds uids and fps from the run suffix and the lower-cased name', () => {
    const ctx = ctxWith({}, 'k3j9x2');
    expect(uidFor(ctx, 'A')).toBe('g-k3j9x2-a');
    expect(fpFor(ctx, 'M1')).toBe('fp-k3j9x2-m1');
    expect(substituteText('{{uid:Forged}} and {{fp:M1}}', ctx)).toBe('g-k3j9x2-forged and fp-k3j9x2-m1');
  });

  it('gives the same id for the same name and different ids across runs', () => {
    const a = createContext();
    const b = createContext();
    expect(a.suffix).toMatch(/^[a-z0-9]{6}$/);
    expect(a.suffix).not.toBe(b.suffix);
    expect(substituteText('{{uid:U}}', a)).toBe(substituteText('{{uid:U}}', a));
    expect(substituteText('{{uid:U}}', a)).not.toBe(substituteText('{{uid:U}}', b));
  });

  it('substitutes a whole-string var with its JSON type, and as text inside a longer string', () => {
    const ctx = ctxWith({ T1: 1795656641155, S: 'str', O: { a: 1 } });
    expect(substituteString('{{var:T1}}', ctx)).toBe(1795656641155);
    expect(substituteString('{{var:O}}', ctx)).toEqual({ a: 1 });
    expect(substituteString('t={{var:T1}}', ctx)).toBe('t=1795656641155');
    expect(substituteString('s={{var:S}}', ctx)).toBe('s=str');
    expect(substituteString('o={{var:O}}', ctx)).toBe('o={"a":1}');
    expect(substituteString(' {{var:T1}}', ctx)).toBe(' 1795656641155');
  });

  it('throws on a var that was never captured', () => {
    expect(() => substituteString('{{var:Nope}}', ctxWith())).toThrow(ScenarioError);
  });

  it('substitutes deeply but leaves {{pad}} and matcher tokens alone', () => {
    const ctx = ctxWith({ N: 5 });
    expect(substitute({ a: ['{{uid:A}}', { b: '{{var:N}}' }], c: '<any>', d: '{{pad}}', e: 1, f: null, g: true }, ctx)).toEqual({
      a: ['g-abc123-a', { b: 5 }],
      c: '<any>',
      d: '{{pad}}',
      e: 1,
      f: null,
      g: true,
    });
  });

  it('applies $stringify after substitution (README example)', () => {
    const ctx = ctxWith({}, 'k3j9x2');
    const packet = resolvePacket(
      {
        type: 0,
        dataContent: { $stringify: { loginUserId: '{{uid:A}}', loginToken: 'token-a', firstLoginTime: 0 } },
        from: '{{uid:A}}',
      },
      ctx,
    );
    expect(JSON.stringify(packet)).toBe(
      '{"type":0,"dataContent":"{\\"loginUserId\\":\\"g-k3j9x2-a\\",\\"loginToken\\":\\"token-a\\",\\"firstLoginTime\\":0}","from":"g-k3j9x2-a"}',
    );
  });

  it('keeps a typed var a number inside $stringify', () => {
    const ctx = ctxWith({ T1: 1795656641155 });
    const packet = resolvePacket({ dataContent: { $stringify: { loginUserId: '{{uid:U}}', firstLoginTime: '{{var:T1}}' } } }, ctx) as {
      dataContent: string;
    };
    expect(packet.dataContent).toBe('{"loginUserId":"g-abc123-u","firstLoginTime":1795656641155}');
  });

  it('handles nested $stringify and rejects extra keys next to it', () => {
    const ctx = ctxWith();
    expect(resolvePacket({ a: { $stringify: { b: { $stringify: { c: 1 } } } } }, ctx)).toEqual({ a: '{"b":"{\\"c\\":1}"}' });
    expect(() => resolvePacket({ a: { $stringify: 1, x: 2 } }, ctx)).toThrow(ScenarioError);
  });
});

describe('padText', () => {
  it('pads to an exact UTF-8 byte length', () => {
    const text = padText('{"type":5,"dataContent":"{{pad}}"}', 2048);
    expect(Buffer.byteLength(text, 'utf8')).toBe(2048);
    expect(text.startsWith('{"type":5,"dataContent":"xxx')).toBe(true);
    expect(JSON.parse(text).dataContent).toMatch(/^x+$/);
  });

  it('counts multi-byte characters of the text and of padChar in bytes', () => {
    // é = 2 bytes, € = 3 bytes: 8 bytes = é + 2 × €
    expect(padText('é{{pad}}', 8, '€')).toBe('é€€');
    expect(padText('{"d":"你{{pad}}"}', 20)).toBe('{"d":"你' + 'x'.repeat(9) + '"}'); // 6 + 3 + 9 + 2 bytes
    expect(Buffer.byteLength(padText('é{{pad}}', 8, '€'))).toBe(8);
  });

  it('throws when the size cannot be reached exactly or the token count is wrong', () => {
    expect(() => padText('é{{pad}}', 9, '€')).toThrow(ScenarioError);
    expect(() => padText('abcdef{{pad}}', 3)).toThrow(ScenarioError);
    expect(() => padText('no token', 30)).toThrow(ScenarioError);
    expect(() => padText('{{pad}}{{pad}}', 30)).toThrow(ScenarioError);
    expect(padText('ab{{pad}}', 2)).toBe('ab');
  });
});

describe('matcher: scalars and tokens', () => {
  it('compares numbers numerically, booleans and null exactly', () => {
    expect(matches(5, JSON.parse('5.0'))).toBe(true);
    expect(matches(5, 6)).toBe(false);
    expect(matches(5, '5')).toBe(false);
    expect(matches(true, true)).toBe(true);
    expect(matches(false, 0)).toBe(false);
    expect(matches(null, null)).toBe(true);
    expect(matches(null, undefined)).toBe(false);
  });

  it('compares plain strings exactly after substitution', () => {
    const ctx = ctxWith();
    expect(matches('{{uid:A}}', 'g-abc123-a', ctx)).toBe(true);
    expect(matches('{{uid:A}}', 'g-abc123-b', ctx)).toBe(false);
    expect(matches('0', 0, ctx)).toBe(false);
    expect(matches('x', 'x ', ctx)).toBe(false);
  });

  it('<any> needs a present value of any type', () => {
    expect(matches('<any>', null)).toBe(true);
    expect(matches('<any>', 0)).toBe(true);
    expect(matches('<any>', undefined)).toBe(false);
    expect(matches({ a: '<any>' }, {})).toBe(false);
    expect(matches({ a: '<any>' }, { a: [1] })).toBe(true);
  });

  it('<any-string>, <number>, <boolean>, <json>', () => {
    expect(matches('<any-string>', '')).toBe(true);
    expect(matches('<any-string>', 1)).toBe(false);
    expect(matches('<number>', 1795656224957)).toBe(true);
    expect(matches('<number>', -1.5)).toBe(true);
    expect(matches('<number>', '1')).toBe(false);
    expect(matches('<boolean>', false)).toBe(true);
    expect(matches('<boolean>', 'false')).toBe(false);
    expect(matches('<json>', '{"a":1}')).toBe(true);
    expect(matches('<json>', '"s"')).toBe(true);
    expect(matches('<json>', '{a:1}')).toBe(false);
    expect(matches('<json>', { a: 1 })).toBe(false);
  });

  it('<absent> requires the key to be missing (null is not missing)', () => {
    expect(matches({ a: 1, fp: '<absent>' }, { a: 1 })).toBe(true);
    expect(matches({ a: 1, fp: '<absent>' }, { a: 1, fp: 'x' })).toBe(false);
    expect(matches({ a: 1, fp: '<absent>' }, { a: 1, fp: null })).toBe(false);
  });

  it('a whole-string {{var}} compares with the captured value and its type', () => {
    const ctx = ctxWith({ T1: 1795656641155 });
    expect(matches('{{var:T1}}', 1795656641155, ctx)).toBe(true);
    expect(matches('{{var:T1}}', '1795656641155', ctx)).toBe(false);
    expect(matches('t{{var:T1}}', 't1795656641155', ctx)).toBe(true);
  });

  it('a captured value that looks like a matcher token is still compared literally', () => {
    const ctx = ctxWith({ X: '<any>' });
    expect(matches('{{var:X}}', '<any>', ctx)).toBe(true);
    expect(matches('{{var:X}}', 'other', ctx)).toBe(false);
  });
});

describe('matcher: objects and arrays', () => {
  const keepalive: Json = { bridge: false, type: 51, dataContent: '{}', from: '0', to: '{{uid:A}}', QoS: false, typeu: -1, sm: -1 };
  const received = { bridge: false, type: 51, dataContent: '{}', from: '0', to: 'g-abc123-a', QoS: false, typeu: -1, sm: -1 };

  it('matches an object with exactly the matcher keys, in any order', () => {
    expect(matches(keepalive, received)).toBe(true);
    const reordered = { sm: -1, typeu: -1, QoS: false, to: 'g-abc123-a', from: '0', dataContent: '{}', type: 51, bridge: false };
    expect(matches(keepalive, reordered)).toBe(true);
  });

  it('rejects extra keys (e.g. an fp the matcher does not list)', () => {
    expect(mismatchOf(keepalive, { ...received, fp: 'x' })).toMatch(/^\$: unexpected key "fp": "x"/);
  });

  it('rejects missing keys and wrong values, naming the path', () => {
    const { sm: _sm, ...noSm } = received;
    expect(mismatchOf(keepalive, noSm)).toMatch(/^\$\.sm: missing key/);
    expect(mismatchOf(keepalive, { ...received, type: 52 })).toBe('$.type: expected the number 51, got 52');
    expect(mismatchOf(keepalive, { ...received, to: 'g-abc123-b' })).toMatch(/^\$\.to: expected the string "g-abc123-a"/);
  });

  it('$partial allows extra keys', () => {
    expect(matches({ $partial: true, type: 51 }, received)).toBe(true);
    expect(matches({ $partial: true, type: 52 }, received)).toBe(false);
    expect(matches({ $partial: true, fp: '<absent>' }, { ...received, fp: 'x' })).toBe(false);
  });

  it('needs an object where the matcher is an object', () => {
    expect(matches({}, {})).toBe(true);
    expect(matches({}, [])).toBe(false);
    expect(matches({}, null)).toBe(false);
    expect(matches({}, '{}')).toBe(false);
  });

  it('matches arrays by length and element', () => {
    expect(matches([1, '<any-string>', { a: '<number>' }], [1, 's', { a: 2 }])).toBe(true);
    expect(mismatchOf([1, 2], [1, 2, 3])).toMatch(/expected an array of 2 elements, got 3/);
    expect(mismatchOf([1, 2], [1, 3])).toBe('$[1]: expected the number 2, got 3');
    expect(matches([], {})).toBe(false);
  });
});

describe('matcher: $json and captures', () => {
  it('$json parses a string and matches the parsed value', () => {
    const m: Json = { dataContent: { $json: { code: 0, firstLoginTime: '<number>' } } };
    expect(matches(m, { dataContent: '{"code":0,"firstLoginTime":1795656224957}' })).toBe(true);
    expect(matches(m, { dataContent: '{"code":1,"firstLoginTime":1}' })).toBe(false);
    expect(matches(m, { dataContent: '{"code":0,"firstLoginTime":1,"x":1}' })).toBe(false);
    expect(mismatchOf(m, { dataContent: '{"code":0' })).toMatch(/^\$\.dataContent: .*non-JSON/);
    expect(mismatchOf(m, { dataContent: { code: 0, firstLoginTime: 1 } })).toMatch(/^\$\.dataContent: expected a string holding JSON/);
  });

  it('nests $json for the 301 error (errorMsg is JSON inside JSON)', () => {
    const ctx = ctxWith();
    const m: Json = {
      type: 52,
      dataContent: {
        $json: {
          errorCode: 301,
          errorMsg: { $json: { bridge: false, type: 1, dataContent: '{}', from: '{{uid:A}}', to: '0', QoS: false, typeu: -1, sm: -1 } },
        },
      },
    };
    const inner = JSON.stringify({ bridge: false, type: 1, dataContent: '{}', from: 'g-abc123-a', to: '0', QoS: false, typeu: -1, sm: -1 });
    expect(matches(m, { type: 52, dataContent: JSON.stringify({ errorCode: 301, errorMsg: inner }) }, ctx)).toBe(true);
    const wrong = inner.replace('"type":1', '"type":2');
    expect(mismatchOf(m, { type: 52, dataContent: JSON.stringify({ errorCode: 301, errorMsg: wrong }) }, ctx)).toBe(
      '$.dataContent<json>.errorMsg<json>.type: expected the number 1, got 2',
    );
  });

  it('accepts the reference escaping (\\u003c etc.) as equivalent text', () => {
    const text = '{"dataContent":"\\u003cb\\u003e \\u0026 \\u003d \\u0027 \\u2028"}';
    expect(matches({ dataContent: "<b> & = ' \u2028" }, JSON.parse(text))).toBe(true);
  });

  it('<capture:N> and {$capture,$match} return captures only on success', () => {
    const ctx = ctxWith();
    const m: Json = { a: '<capture:A>', b: { $json: { t: { $capture: 'T1', $match: '<number>' } } } };
    const ok = matchValue(m, { a: 'x', b: '{"t":42}' }, ctx);
    expect(ok.ok).toBe(true);
    if (ok.ok) expect(Object.fromEntries(ok.captures)).toEqual({ A: 'x', T1: 42 });
    expect(ctx.vars.size).toBe(0); // the caller commits captures

    const bad = matchValue(m, { a: 'x', b: '{"t":"42"}' }, ctx);
    expect(bad.ok).toBe(false);
  });

  it('$capture without $match captures any present value; absent fails', () => {
    expect(matches({ a: { $capture: 'X' } }, { a: [1] })).toBe(true);
    expect(matches({ a: { $capture: 'X' } }, {})).toBe(false);
    expect(matches({ a: '<capture:X>' }, {})).toBe(false);
  });

  it('a value captured earlier in the same packet can be referenced later in it', () => {
    expect(matches({ a: '<capture:X>', b: '{{var:X}}' }, { a: 7, b: 7 })).toBe(true);
    expect(matches({ a: '<capture:X>', b: '{{var:X}}' }, { a: 7, b: 8 })).toBe(false);
  });

  it('rejects $stringify inside a matcher and malformed $json/$capture', () => {
    expect(() => matchValue({ a: { $stringify: 1 } }, { a: '1' }, ctxWith())).toThrow(ScenarioError);
    expect(() => matchValue({ $json: 1, x: 1 }, '1', ctxWith())).toThrow(ScenarioError);
    expect(() => matchValue({ $capture: 5 } as Json, 1, ctxWith())).toThrow(ScenarioError);
  });

  it('substituteForDisplay fills placeholders but leaves uncaptured vars', () => {
    const ctx = ctxWith({ T1: 9 });
    expect(substituteForDisplay({ a: '{{uid:A}}', b: '{{var:T1}}', c: '{{var:Later}}', d: { $capture: 'Z', $match: '<number>' } }, ctx)).toEqual({
      a: 'g-abc123-a',
      b: 9,
      c: '{{var:Later}}',
      d: { $capture: 'Z', $match: '<number>' },
    });
  });
});

describe('keyOrder', () => {
  const order = ['bridge', 'type', 'dataContent', 'from', 'to', 'fp', 'QoS', 'typeu', 'sm'];

  it('reads top-level keys in text order, skipping nested objects and tricky strings', () => {
    const text = '{ "b" : {"x":{"y":[1,{"z":2}]}}, "a":"},{\\"q\\":1", "c": [ "]" ], "d":-1.5e3, "e":null, "b":true }';
    expect(topLevelKeys(text)).toEqual(['b', 'a', 'c', 'd', 'e', 'b']);
    expect(topLevelKeys('[1,2]')).toEqual([]);
    expect(topLevelKeys('{}')).toEqual([]);
    expect(topLevelKeys('{"\\u0061":1}')).toEqual(['a']);
  });

  it('keeps integer-like keys in text order (unlike Object.keys)', () => {
    expect(topLevelKeys('{"b":1,"2":2,"1":3}')).toEqual(['b', '2', '1']);
  });

  it('accepts the reference order, with keys missing or extra', () => {
    expect(checkKeyOrder('{"bridge":false,"type":51,"dataContent":"{}","from":"0","to":"u","QoS":false,"typeu":-1,"sm":-1}', order)).toBeNull();
    expect(checkKeyOrder('{"bridge":false,"x":1,"type":2,"fp":"f","sm":0}', order)).toBeNull();
  });

  it('reports keys out of order', () => {
    const problem = checkKeyOrder('{"type":51,"bridge":false,"dataContent":"{}"}', order);
    expect(problem).toMatch(/"bridge" after "type"/);
    expect(checkKeyOrder('{"bridge":false,"type":1,"sm":1,"QoS":false}', order)).toMatch(/"QoS" after "sm"/);
  });
});

describe('scenario files', () => {
  const scenarios: Scenario[] = loadScenarios(SCENARIO_DIR);

  it('loads all 42 recorded scenarios, each valid', () => {
    expect(scenarios).toHaveLength(42);
    for (const s of scenarios) expect(validateScenario(s)).toEqual([]);
  });

  it('every matcher and sent packet in the files resolves with placeholders', () => {
    for (const s of scenarios) {
      const ctx = ctxWith({ T1: 1 });
      for (const step of s.steps) {
        if (step.action === 'send') expect(() => resolvePacket(step.packet, ctx)).not.toThrow();
        if (step.action === 'sendText' && step.padToBytes !== undefined) {
          expect(Buffer.byteLength(padText(substituteText(step.text, ctx), step.padToBytes, step.padChar))).toBe(step.padToBytes);
        }
      }
    }
  });

  it('each recorded "observed" packet matches its own expect step', () => {
    // `observed` holds the reference's packet text with generated ids put
    // back as placeholders; substitute them and run the matcher on it.
    let checked = 0;
    for (const s of scenarios) {
      const ctx = createContext('obs000');
      for (const step of s.steps) {
        if (step.action !== 'expect' || !step.observed || step.observedBytes !== undefined) continue;
        const text = substituteText(step.observed, ctx);
        const result = matchValue(step.packet, JSON.parse(text) as Json, ctx);
        if (!result.ok) throw new Error(`${s.name}: observed packet does not match: ${result.mismatch.path}: ${result.mismatch.reason}`);
        for (const [k, v] of result.captures) ctx.vars.set(k, v);
        if (step.keyOrder) expect(checkKeyOrder(text, step.keyOrder)).toBeNull();
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('validateScenario reports structural problems', () => {
    const bad = {
      name: 'x',
      tags: [],
      steps: [
        { action: 'send', client: 'A', packet: {} },
        { action: 'connect', client: 'U', transport: 'udp' },
        { action: 'expectClosed', client: 'U', withinMs: 10 },
        { action: 'fly', client: 'U' },
        { action: 'expect', client: 'U', packet: {}, withinMs: 1, sinceMark: 'm', bogus: 1 },
        { action: 'sendText', client: 'U', text: 'a', padToBytes: 3 },
      ],
    } as unknown as Scenario;
    const problems = validateScenario(bad).join('\n');
    expect(problems).toMatch(/client "A" used before its connect step/);
    expect(problems).toMatch(/expectClosed is not valid for UDP/);
    expect(problems).toMatch(/unknown action "fly"/);
    expect(problems).toMatch(/unknown field "bogus"/);
    expect(problems).toMatch(/sinceMark "m" is not defined/);
    expect(problems).toMatch(/padToBytes needs exactly one \{\{pad\}\}/);
  });
});
