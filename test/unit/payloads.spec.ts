import {
  parseLoginInfo,
  loginResponse,
  keepaliveResponse,
  errorResponse,
  kickoutPacket,
  ackPacket,
  ackFor,
  dataPacket,
  echoPacket,
  keepalivePacket,
  loginPacket,
  logoutPacket,
} from '../../lib/protocol/payloads';
import { encodePacket, decodePacket } from '../../lib/protocol/packet-codec';
import { PacketType, NO_USER_ID, SERVER_USER_ID } from '../../lib/protocol/packet-type';
import { Packet, serverPacket } from '../../lib/protocol/packet';

/** Keys of a packet that are set (not undefined). */
function presentKeys(p: Packet): string[] {
  return Object.entries(p)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => k);
}

describe('parseLoginInfo (PROTOCOL §3.2, §7.1, §11)', () => {
  it.each<[string, string | undefined]>([
    ['undefined dataContent', undefined],
    ['an empty string', ''],
    ['whitespace only', '   \n'],
    ['JSON null', 'null'],
    ['an empty object', '{}'],
    ['an object without loginUserId', '{"loginToken":"t","firstLoginTime":5}'],
    ['a null loginUserId', '{"loginUserId":null}'],
    ['an object loginUserId', '{"loginUserId":{"id":"a"}}'],
    ['an array loginUserId', '{"loginUserId":["a"]}'],
    ['a lower-case key', '{"loginuserid":"alice"}'],
  ])('reads %s as missing', (_n, dc) => {
    expect(parseLoginInfo(dc)).toEqual({ ok: false, reason: 'missing' });
  });

  it.each<[string, string]>([
    ['plain text', 'abc'],
    ['an array', '["alice"]'],
    ['an empty array', '[]'],
    ['a JSON string', '"alice"'],
    ['a JSON number', '42'],
    ['a JSON boolean', 'true'],
    ['truncated JSON', '{"loginUserId":"alice"'],
    ['trailing garbage', '{"loginUserId":"alice"}x'],
  ])('reads %s as malformed', (_n, dc) => {
    expect(parseLoginInfo(dc)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('reads the full info an SDK sends', () => {
    const r = parseLoginInfo('{"loginUserId":"alice","loginToken":"secret","extra":"x","firstLoginTime":1795655362826}');
    expect(r).toEqual({
      ok: true,
      info: { loginUserId: 'alice', loginToken: 'secret', extra: 'x', firstLoginTime: 1795655362826 },
    });
  });

  it('accepts an empty loginUserId', () => {
    const r = parseLoginInfo('{"loginUserId":""}');
    expect(r.ok && r.info.loginUserId).toBe('');
  });

  it('leaves optional fields absent and defaults firstLoginTime to 0', () => {
    const r = parseLoginInfo('{"loginUserId":"bob"}');
    expect(r).toEqual({ ok: true, info: { loginUserId: 'bob', loginToken: undefined, extra: undefined, firstLoginTime: 0 } });
  });

  it('converts a numeric or boolean loginUserId to text', () => {
    const r1 = parseLoginInfo('{"loginUserId":12345}');
    expect(r1.ok && r1.info.loginUserId).toBe('12345');
    const r2 = parseLoginInfo('{"loginUserId":true,"loginToken":7}');
    expect(r2.ok && r2.info).toMatchObject({ loginUserId: 'true', loginToken: '7' });
  });

  it('reads a numeric-string firstLoginTime', () => {
    const r = parseLoginInfo('{"loginUserId":"a","firstLoginTime":"1795655362826"}');
    expect(r.ok && r.info.firstLoginTime).toBe(1795655362826);
  });

  it('reads a negative and a padded numeric-string firstLoginTime', () => {
    const r1 = parseLoginInfo('{"loginUserId":"a","firstLoginTime":"-1"}');
    expect(r1.ok && r1.info.firstLoginTime).toBe(-1);
    const r2 = parseLoginInfo('{"loginUserId":"a","firstLoginTime":" 42 "}');
    expect(r2.ok && r2.info.firstLoginTime).toBe(42);
  });

  it('reads a negative number firstLoginTime as given (0 or less means first login)', () => {
    const r = parseLoginInfo('{"loginUserId":"a","firstLoginTime":-5}');
    expect(r.ok && r.info.firstLoginTime).toBe(-5);
  });

  it('truncates a fractional firstLoginTime', () => {
    const r = parseLoginInfo('{"loginUserId":"a","firstLoginTime":12.9}');
    expect(r.ok && r.info.firstLoginTime).toBe(12);
  });

  it.each(['"abc"', 'null', 'true', '{}', '[]', '"1.5"', '""'])('reads firstLoginTime %s as 0', (v) => {
    const r = parseLoginInfo(`{"loginUserId":"a","firstLoginTime":${v}}`);
    expect(r.ok && r.info.firstLoginTime).toBe(0);
  });

  it('ignores unknown keys', () => {
    const r = parseLoginInfo('{"loginUserId":"a","device":"ios","nested":{"x":1}}');
    expect(r).toEqual({ ok: true, info: { loginUserId: 'a', loginToken: undefined, extra: undefined, firstLoginTime: 0 } });
  });

  it('keeps a non-ASCII user id unchanged', () => {
    const r = parseLoginInfo('{"loginUserId":"用户😀"}');
    expect(r.ok && r.info.loginUserId).toBe('用户😀');
  });
});

describe('loginResponse (type 50)', () => {
  it('on success is addressed to the user and carries firstLoginTime', () => {
    const p = loginResponse(0, 'alice', 1795655362826);
    expect(p).toMatchObject({
      bridge: false,
      type: PacketType.LOGIN_RESPONSE,
      from: SERVER_USER_ID,
      to: 'alice',
      QoS: false,
      typeu: -1,
      sm: -1,
    });
    expect(p.fp).toBeUndefined();
    expect(JSON.parse(p.dataContent!)).toEqual({ code: 0, firstLoginTime: 1795655362826 });
  });

  it('encodes exactly as the reference (PROTOCOL §2.2 example)', () => {
    expect(encodePacket(loginResponse(0, 'alice', 1795655362826))).toBe(
      '{"bridge":false,"type":50,"dataContent":"{\\"code\\":0,\\"firstLoginTime\\":1795655362826}","from":"0","to":"alice","QoS":false,"typeu":-1,"sm":-1}',
    );
  });

  it('writes the payload keys in the order code, firstLoginTime', () => {
    expect(loginResponse(0, 'a', 7).dataContent).toBe('{"code":0,"firstLoginTime":7}');
  });

  it('on failure is addressed to "-1" with firstLoginTime -1 and the non-zero code', () => {
    const p = loginResponse(1025, 'alice', 1795655362826);
    expect(p.to).toBe(NO_USER_ID);
    expect(p.to).toBe('-1');
    expect(p.from).toBe('0');
    expect(p.type).toBe(50);
    expect(p.dataContent).toBe('{"code":1025,"firstLoginTime":-1}');
  });

  it('treats any non-zero code as failure, negative ones included', () => {
    expect(loginResponse(-3, 'a', 9).dataContent).toBe('{"code":-3,"firstLoginTime":-1}');
    expect(loginResponse(-3, 'a', 9).to).toBe('-1');
  });

  it('round-trips through the codec', () => {
    const p = loginResponse(0, 'bob', 123);
    const d = decodePacket(encodePacket(p));
    expect(d.ok && d.packet).toEqual(p);
  });
});

describe('keepaliveResponse (type 51)', () => {
  it('is "{}" from "0" to the user', () => {
    expect(encodePacket(keepaliveResponse('alice'))).toBe(
      '{"bridge":false,"type":51,"dataContent":"{}","from":"0","to":"alice","QoS":false,"typeu":-1,"sm":-1}',
    );
  });
});

describe('errorResponse (type 52)', () => {
  it('is {"errorCode","errorMsg"} from "0" to "-1" by default', () => {
    const p = errorResponse(301, 'msg');
    expect(p).toMatchObject({ type: PacketType.ERROR, from: '0', to: '-1', QoS: false, typeu: -1, sm: -1, bridge: false });
    expect(p.fp).toBeUndefined();
    expect(p.dataContent).toBe('{"errorCode":301,"errorMsg":"msg"}');
  });

  it('can be addressed to a given user', () => {
    expect(errorResponse(301, 'm', 'bob').to).toBe('bob');
  });

  it('reproduces the reference 301 for a keepalive sent before login (PROTOCOL §3.2), byte for byte', () => {
    const offending = decodePacket('{"type":1,"dataContent":"{}","from":"alice","to":"0","typeu":-1,"sm":-1}');
    expect(offending.ok).toBe(true);
    if (!offending.ok) return;
    const p = errorResponse(301, encodePacket(offending.packet));
    expect(encodePacket(p)).toBe(
      String.raw`{"bridge":false,"type":52,"dataContent":"{\"errorCode\":301,\"errorMsg\":\"{\\\"bridge\\\":false,\\\"type\\\":1,\\\"dataContent\\\":\\\"{}\\\",\\\"from\\\":\\\"alice\\\",\\\"to\\\":\\\"0\\\",\\\"QoS\\\":false,\\\"typeu\\\":-1,\\\"sm\\\":-1}\"}","from":"0","to":"-1","QoS":false,"typeu":-1,"sm":-1}`,
    );
  });

  it('escapes quotes and non-ASCII in errorMsg as valid JSON', () => {
    const msg = 'a "quoted" \\ 😀\n';
    const p = errorResponse(301, msg);
    expect(JSON.parse(p.dataContent!)).toEqual({ errorCode: 301, errorMsg: msg });
  });
});

describe('kickoutPacket (type 54)', () => {
  it('without a reason has no reason key', () => {
    const p = kickoutPacket('alice', 1);
    expect(p.dataContent).toBe('{"code":1}');
    expect(Object.keys(JSON.parse(p.dataContent!))).toEqual(['code']);
    expect(p).toMatchObject({ type: PacketType.KICKOUT, from: '0', to: 'alice', QoS: false, typeu: -1, sm: -1 });
  });

  it('with a reason writes code then reason', () => {
    expect(kickoutPacket('bob', 2, 'banned').dataContent).toBe('{"code":2,"reason":"banned"}');
  });

  it('keeps an empty reason (present, not absent)', () => {
    expect(kickoutPacket('bob', 2, '').dataContent).toBe('{"code":2,"reason":""}');
  });

  it('encodes as a whole packet without fp', () => {
    expect(encodePacket(kickoutPacket('alice', 1))).toBe(
      '{"bridge":false,"type":54,"dataContent":"{\\"code\\":1}","from":"0","to":"alice","QoS":false,"typeu":-1,"sm":-1}',
    );
  });
});

describe('ackPacket (type 4)', () => {
  it('carries the fp in dataContent, from the acknowledging party to the sender, with no fp of its own', () => {
    const p = ackPacket('f-123', 'bob', 'alice');
    expect(p).toEqual({
      bridge: false,
      type: PacketType.ACK,
      dataContent: 'f-123',
      from: 'bob',
      to: 'alice',
      fp: undefined,
      QoS: false,
      typeu: -1,
      sm: -1,
    });
  });

  it('from "0" for a C2S ACK', () => {
    expect(encodePacket(ackPacket('f', '0', 'alice'))).toBe(
      '{"bridge":false,"type":4,"dataContent":"f","from":"0","to":"alice","QoS":false,"typeu":-1,"sm":-1}',
    );
  });

  it('omits "to" when the original sender is unknown', () => {
    const p = ackPacket('f', 'bob', undefined);
    expect(presentKeys(p)).not.toContain('to');
    expect(encodePacket(p)).toBe('{"bridge":false,"type":4,"dataContent":"f","from":"bob","QoS":false,"typeu":-1,"sm":-1}');
  });
});

/** The packets clients send, byte for byte as the Java SDK writes them (PROTOCOL.md §2.2, §3.2, §10.6). */
describe('client packet builders', () => {
  it('login: info keys in the SDK order, extra left out when absent, notifyUndeliverable only when asked', () => {
    const sdk = loginPacket({ loginUserId: 'u', loginToken: 'secret', firstLoginTime: 0 });
    expect(encodePacket(sdk)).toBe(
      '{"bridge":false,"type":0,"dataContent":"{\\"loginUserId\\":\\"u\\",\\"loginToken\\":\\"secret\\",\\"firstLoginTime\\":0}",' +
        '"from":"u","to":"0","QoS":false,"typeu":-1,"sm":-1}',
    );
    const asking = loginPacket({ loginUserId: 'u', loginToken: 't', extra: 'x', firstLoginTime: 123, notifyUndeliverable: true });
    expect(JSON.parse(asking.dataContent as string)).toEqual({ loginUserId: 'u', loginToken: 't', extra: 'x', firstLoginTime: 123, notifyUndeliverable: true });
    // What the client sends, the server reads back unchanged.
    expect(parseLoginInfo(asking.dataContent)).toEqual({ ok: true, info: { loginUserId: 'u', loginToken: 't', extra: 'x', firstLoginTime: 123, notifyUndeliverable: true } });
  });

  it('keepalive, logout and echo', () => {
    expect(encodePacket(keepalivePacket('k'))).toBe('{"bridge":false,"type":1,"dataContent":"{}","from":"k","to":"0","QoS":false,"typeu":-1,"sm":-1}');
    expect(encodePacket(logoutPacket('o'))).toBe('{"bridge":false,"type":3,"from":"o","to":"0","QoS":false,"typeu":-1,"sm":-1}');
    expect(encodePacket(echoPacket('e', 'hi'))).toBe('{"bridge":false,"type":5,"dataContent":"hi","from":"e","to":"0","QoS":false,"typeu":-1,"sm":-1}');
  });

  it('data: fp only with QoS', () => {
    expect(encodePacket(dataPacket('a', 'b', 'x', { qos: true, typeu: 7, fp: 'f' }))).toBe(
      '{"bridge":false,"type":2,"dataContent":"x","from":"a","to":"b","fp":"f","QoS":true,"typeu":7,"sm":-1}',
    );
    expect(dataPacket('a', '0', 'x', { qos: false, typeu: -1 }).fp).toBeUndefined();
  });

  it('ackFor: the server-side ACK with the addresses swapped and bridge copied', () => {
    const pushed = serverPacket(PacketType.DATA, 'r', 'pushed', { fp: 'fp-dup', QoS: true, bridge: true, typeu: 9 });
    expect(encodePacket(ackFor(pushed))).toBe('{"bridge":true,"type":4,"dataContent":"fp-dup","from":"r","to":"0","QoS":false,"typeu":-1,"sm":-1}');
    expect(ackFor({ ...pushed, bridge: false })).toEqual(ackPacket('fp-dup', 'r', '0'));
  });
});
