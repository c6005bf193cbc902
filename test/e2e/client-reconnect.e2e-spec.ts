/**
 * AutoReconnect against the real server: the application is closed and
 * started again on the same port, and the client logs in again by itself as
 * the same device, and resends what was still pending.
 */
import { Injectable } from '@nestjs/common';
import { AutoReconnect, IMClient, TcpLink } from '../../lib/client';
import { IMLoginInfo, LoginInfo, OnLogin } from '../../lib';
import { IMTestingApp, startIMTestingApp, until } from '../../lib/testing';

@Injectable()
class Handlers {
  static token = 'secret';
  /** The next login never gets an answer (a stuck user store). */
  static hangOnce = false;
  readonly logins: LoginInfo[] = [];

  @OnLogin()
  login(@IMLoginInfo() info: LoginInfo): number | Promise<number> {
    this.logins.push(info);
    if (Handlers.hangOnce) {
      Handlers.hangOnce = false;
      return new Promise<number>(() => undefined);
    }
    return info.loginToken === Handlers.token ? 0 : 1025;
  }
}

describe('AutoReconnect (real server restarted on the same port)', () => {
  let im: IMTestingApp;
  let client: IMClient;
  let reconnect: AutoReconnect;

  const start = (port = 0) => startIMTestingApp({ providers: [Handlers], im: { tcp: { port }, udp: false, ws: false } });

  beforeEach(async () => {
    Handlers.token = 'secret';
    Handlers.hangOnce = false;
    im = await start();
    const port = im.ports.tcp as number;
    client = new IMClient(() => new TcpLink({ host: '127.0.0.1', port }), {
      keepalive: false,
      // Short enough for the test of an unanswered login, long enough for a busy machine.
      requestTimeoutMs: 3000,
      // Resent every 100 ms for up to 30 s, so a message can outlive the restart.
      qos: { checkIntervalMs: 100, graceMs: 50, maxResends: 300 },
    });
    await client.connect();
    expect((await client.login({ userId: 'alice', token: 'secret' })).code).toBe(0);
    reconnect = new AutoReconnect(client, { userId: 'alice', token: 'secret' }, { initialDelayMs: 20, maxDelayMs: 200 });
  });

  afterEach(async () => {
    reconnect.stop();
    await client.close();
    await im.close();
  });

  it('logs in again after a restart with the same firstLoginTime, and resends what was still pending', async () => {
    const firstLoginTime = client.firstLoginTime;
    expect(firstLoginTime).toBeGreaterThan(0);
    const events: string[] = [];
    reconnect.on('scheduled', () => events.push('scheduled'));
    reconnect.on('attemptFailed', () => events.push('failed'));
    const reconnected = new Promise<{ firstLoginTime: number }>((resolve) => reconnect.once('reconnected', resolve));

    // Bob is offline and these handlers store nothing, so no ACK: the message stays pending in the client.
    const pending = client.sendC2C('bob', 'sent before the restart');
    const port = im.ports.tcp as number;
    await im.close();
    await until(() => !client.isConnected, { timeoutMs: 15_000 });
    expect(client.pendingQoS).toBe(1);
    // At least one attempt finds nothing listening before the server is back.
    await until(() => events.includes('failed'), { timeoutMs: 15_000 });
    im = await start(port);
    expect((await reconnected).firstLoginTime).toBe(firstLoginTime);
    expect(client.isLoggedIn).toBe(true);
    expect(im.app.get(Handlers).logins.map((l) => [l.loginUserId, l.firstLoginTime])).toEqual([['alice', firstLoginTime]]);
    // Bob logs in on the new server: the pending message is resent on the new link and reaches him.
    const bob = await im.login('tcp', 'bob', { token: 'secret' });
    expect((await bob.expect({ type: 2, from: 'alice' }, 15_000)).dataContent).toBe('sent before the restart');
    await expect(pending).resolves.toBe('delivered');
    await expect(client.sendC2C('bob', 'after the restart')).resolves.toBe('delivered');
    expect(events.filter((e) => e === 'scheduled').length).toBeGreaterThanOrEqual(2);
  });

  it('does not come back after a kick: the SDKs treat it as final', async () => {
    const scheduled: number[] = [];
    reconnect.on('scheduled', ({ attempt }) => scheduled.push(attempt));
    const closed = new Promise<string>((resolve) => client.once('close', (info) => resolve(info.reason)));
    expect(await im.push.kick('alice', 'bye')).toBe(true);
    expect(await closed).toBe('kicked');
    // The close listener ran synchronously and released the client.
    expect(client.listenerCount('close')).toBe(0);
    expect(reconnect.reconnecting).toBe(false);
    expect(scheduled).toEqual([]);
  });

  it('drops a link whose re-login is never answered and tries again on a new one', async () => {
    const failures: string[] = [];
    reconnect.on('attemptFailed', ({ error }) => failures.push(error.message));
    const reconnected = new Promise<void>((resolve) => reconnect.once('reconnected', () => resolve()));
    const port = im.ports.tcp as number;
    await im.close();
    Handlers.hangOnce = true;
    im = await start(port);
    await reconnected;
    expect(failures).toContain('login timed out after 3000 ms');
    expect(client.isLoggedIn).toBe(true);
  });

  it('stops when the server refuses the re-login', async () => {
    const refused = new Promise<number>((resolve) => reconnect.once('refused', (r) => resolve(r.code)));
    const port = im.ports.tcp as number;
    await im.close();
    Handlers.token = 'rotated';
    im = await start(port);
    expect(await refused).toBe(1025);
    expect(reconnect.reconnecting).toBe(false);
    expect(client.isConnected).toBe(false);
  });
});
