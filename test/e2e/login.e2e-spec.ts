import { IMClient, TcpLink, WsLink } from '../../lib/client';
import { IMTestingApp, startIMTestingApp } from '../../lib/testing';
import { RecordingHandlers } from './fixtures/recording-handlers';

describe('login (PROTOCOL §7)', () => {
  let im: IMTestingApp;
  let handlers: RecordingHandlers;

  beforeEach(async () => {
    im = await startIMTestingApp({ providers: [RecordingHandlers] });
    handlers = im.app.get(RecordingHandlers);
  });
  afterEach(() => im.close());

  it.each(['tcp', 'ws', 'udp'] as const)('accepts a valid token over %s with a server-assigned firstLoginTime', async (kind) => {
    const before = Date.now();
    const a = await im.connect(kind);
    const res = await a.login('alice');
    expect(res.code).toBe(0);
    expect(res.firstLoginTime).toBeGreaterThanOrEqual(before);
    expect(a.rawLog[0]).toBe(
      `{"bridge":false,"type":50,"dataContent":"{\\"code\\":0,\\"firstLoginTime\\":${res.firstLoginTime}}","from":"0","to":"alice","QoS":false,"typeu":-1,"sm":-1}`,
    );
    expect(im.push.isOnline('alice')).toBe(true);
    expect(handlers.calls).toEqual(['login:alice', 'loginSuccess:alice']);
  });

  it('echoes a positive firstLoginTime unchanged', async () => {
    const a = await im.connect('tcp');
    expect(await a.login('alice', { firstLoginTime: 1234567890123 })).toEqual({ code: 0, firstLoginTime: 1234567890123 });
  });

  it('refuses a bad token with the handler code, to "-1", then closes TCP', async () => {
    const a = await im.connect('tcp');
    const res = await a.login('alice', { token: 'wrong' });
    expect(res).toEqual({ code: 1026, firstLoginTime: -1 });
    expect(a.rawLog[0]).toContain('"to":"-1"');
    await a.expectClosed();
    expect(im.push.isOnline('alice')).toBe(false);
  });

  it.each(['tcp', 'ws'] as const)('the shipped client connects again at once after a refused login (%s)', async (kind) => {
    const link = kind === 'tcp' ? new TcpLink({ host: '127.0.0.1', port: im.ports.tcp! }) : new WsLink({ host: '127.0.0.1', port: im.ports.ws! });
    const client = new IMClient(link, { keepalive: false });
    try {
      await client.connect();
      expect((await client.login({ userId: 'alice', token: 'wrong' })).code).toBe(1026);
      expect(client.isConnected).toBe(false);
      await client.connect();
      expect((await client.login({ userId: 'alice', token: 'token-alice' })).code).toBe(0);
      expect(im.push.isOnline('alice')).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('maps an IMException thrown by @OnLogin to its code', async () => {
    const a = await im.connect('ws');
    expect((await a.login('blocked', { token: 'token-blocked' })).code).toBe(1025);
    expect((await a.expectClosed()).code).toBe(1000);
  });

  it('keeps a refused UDP session open so it can log in again', async () => {
    const a = await im.connect('udp');
    expect((await a.login('alice', { token: 'wrong' })).code).toBe(1026);
    expect((await a.login('alice')).code).toBe(0);
  });

  it('refuses the reserved user ids "0" and "-1"', async () => {
    for (const id of ['0', '-1']) {
      const a = await im.connect('tcp');
      expect((await a.login(id, { token: `token-${id}` })).code).toBe(400);
      await a.expectClosed();
    }
    expect(handlers.calls).toEqual([]);
  });

  it('closes silently on a login without loginUserId (TCP) and ignores it on UDP', async () => {
    const t = await im.connect('tcp');
    t.send({ type: 0, dataContent: JSON.stringify({ loginToken: 'x' }) });
    await t.expectClosed();
    expect(t.rawLog).toEqual([]);
    const u = await im.connect('udp');
    u.send({ type: 0, dataContent: '{}' });
    await u.expectNothing(200);
    expect((await u.login('bob')).code).toBe(0);
  });

  it('processes packets pipelined behind an asynchronous login strictly in order', async () => {
    handlers.loginDelayMs = 150;
    const a = await im.connect('tcp');
    const info = JSON.stringify({ loginUserId: 'alice', loginToken: 'token-alice', firstLoginTime: 0 });
    a.send({ type: 0, from: 'alice', to: '0', dataContent: info });
    a.send({ type: 1, from: 'alice', to: '0', dataContent: '{}' });
    a.send({ type: 2, from: 'alice', to: '0', dataContent: 'right behind', fp: 'p-1', QoS: true });
    await a.expect({ type: 50 });
    await a.expect({ type: 51, to: 'alice' });
    await a.expect({ type: 4, dataContent: 'p-1', from: '0' });
    expect(handlers.calls).toEqual(['login:alice', 'loginSuccess:alice', 'c2s:right behind']);
  });

  it('re-login as the same user on the same session skips verification and keeps the session', async () => {
    const a = await im.login('tcp', 'alice');
    a.send({ type: 0, from: 'alice', to: '0', dataContent: JSON.stringify({ loginUserId: 'alice', loginToken: 'anything', firstLoginTime: 42 }) });
    const res = await a.expect({ type: 50 });
    expect(JSON.parse(res.dataContent as string)).toEqual({ code: 0, firstLoginTime: 42 });
    expect(handlers.calls.filter((c) => c.startsWith('login:'))).toEqual(['login:alice']);
    await a.expectNothing(200);
    expect(a.isOpen).toBe(true);
  });

  it('re-login as another user is verified, and takes the first user offline (QUIRK-4 fix)', async () => {
    const a = await im.login('tcp', 'alice');
    expect((await a.login('bob', { token: 'wrong' })).code).toBe(1026);
    await a.expectClosed();
    expect(im.push.isOnline('alice')).toBe(false);
    expect(im.push.isOnline('bob')).toBe(false);
    expect(handlers.logouts).toEqual([{ userId: 'alice', kickCode: -1 }]);

    const c = await im.login('ws', 'carol');
    expect((await c.login('dave')).code).toBe(0);
    expect(im.push.isOnline('carol')).toBe(false);
    expect(im.push.isOnline('dave')).toBe(true);
  });
});
