import { IMTestingApp, startIMTestingApp } from '../../lib/testing';
import { RecordingHandlers } from './fixtures/recording-handlers';

describe('duplicate login (PROTOCOL §7.3)', () => {
  let im: IMTestingApp;
  let handlers: RecordingHandlers;

  beforeEach(async () => {
    im = await startIMTestingApp({ providers: [RecordingHandlers] });
    handlers = im.app.get(RecordingHandlers);
  });
  afterEach(() => im.close());

  it('a fresh login (firstLoginTime 0) kicks the old session with code 1 and takes over its messages', async () => {
    const old = await im.login('tcp', 'alice');
    const fresh = await im.login('tcp', 'alice');
    const kick = await old.expect({ type: 54, to: 'alice' });
    expect(kick.dataContent).toBe('{"code":1}');
    await old.expectClosed();
    const bob = await im.login('tcp', 'bob');
    const fp = bob.c2c('alice', 'who gets this?');
    await fresh.expect({ type: 2, fp });
    await bob.expect({ type: 4, dataContent: fp, from: 'alice' });
    // QUIRK-20 fix: the application hears about the kick.
    expect(handlers.logouts).toEqual([{ userId: 'alice', kickCode: 1 }]);
  });

  it('a newer firstLoginTime kicks the old session across transports (WS old, TCP new)', async () => {
    const old = await im.connect('ws');
    const { firstLoginTime } = await old.login('alice', { firstLoginTime: 1000 });
    expect(firstLoginTime).toBe(1000);
    const fresh = await im.connect('tcp');
    expect(await fresh.login('alice', { firstLoginTime: 2000 })).toEqual({ code: 0, firstLoginTime: 2000 });
    await old.expect({ type: 54 });
    expect((await old.expectClosed()).code).toBe(1000);
    await fresh.expectNothing(100);
  });

  it('TCP first, then WebSocket: the WebSocket login kicks the TCP session', async () => {
    const tcp = await im.login('tcp', 'alice');
    await im.login('ws', 'alice');
    await tcp.expect({ type: 54, dataContent: '{"code":1}' });
    await tcp.expectClosed();
  });

  it('an older firstLoginTime is a stale device: code 0, then kicked, never online; the old session is untouched', async () => {
    const current = await im.connect('tcp');
    await current.login('alice', { firstLoginTime: 5000 });
    const stale = await im.connect('ws');
    expect((await stale.login('alice', { firstLoginTime: 4000 })).code).toBe(0);
    await stale.expect({ type: 54, dataContent: '{"code":1}' });
    await stale.expectClosed();
    await current.expectNothing(100);
    const bob = await im.login('tcp', 'bob');
    const fp = bob.c2c('alice', 'still yours');
    await current.expect({ type: 2, fp });
    expect(handlers.calls.filter((c) => c === 'loginSuccess:alice')).toHaveLength(1);
  });

  it('an equal firstLoginTime (same device reconnecting) retires the old connection without a kick-out (QUIRK-2 fix)', async () => {
    const old = await im.connect('tcp');
    const { firstLoginTime } = await old.login('alice');
    const again = await im.connect('tcp');
    expect((await again.login('alice', { firstLoginTime })).firstLoginTime).toBe(firstLoginTime);
    await old.expectClosed();
    expect(old.rawLog).toHaveLength(1);
    expect(im.push.isOnline('alice')).toBe(true);
    expect(handlers.logouts).toEqual([]);
    again.keepalive();
    await again.expect({ type: 51 });
  });

  it('a kicked UDP session receives the kick-out and is detached: its next packet gets 301 (QUIRK-3 fix)', async () => {
    const udp = await im.login('udp', 'alice');
    await im.login('tcp', 'alice');
    await udp.expect({ type: 54 });
    udp.keepalive();
    const err = await udp.expect({ type: 52 });
    expect(JSON.parse(err.dataContent as string).errorCode).toBe(301);
  });
});
