/**
 * AutoReconnect against the real server: the application is closed and
 * started again on the same port, and the client logs in again by itself as
 * the same device.
 */
import { Injectable } from '@nestjs/common';
import { AutoReconnect, IMClient, TcpLink } from '../../lib/client';
import { IMLoginInfo, LoginInfo, OnLogin } from '../../lib';
import { IMTestingApp, startIMTestingApp } from '../../lib/testing';

@Injectable()
class Handlers {
  static token = 'secret';
  readonly logins: LoginInfo[] = [];

  @OnLogin()
  login(@IMLoginInfo() info: LoginInfo): number {
    this.logins.push(info);
    return info.loginToken === Handlers.token ? 0 : 1025;
  }
}

async function waitFor(cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('AutoReconnect (real server restarted on the same port)', () => {
  let im: IMTestingApp;
  let client: IMClient;
  let reconnect: AutoReconnect;

  const start = (port = 0) => startIMTestingApp({ providers: [Handlers], im: { tcp: { port }, udp: false, ws: false } });

  beforeEach(async () => {
    Handlers.token = 'secret';
    im = await start();
    const port = im.ports.tcp as number;
    client = new IMClient(() => new TcpLink({ host: '127.0.0.1', port }), { keepalive: false, qos: { checkIntervalMs: 100, graceMs: 50 } });
    await client.connect();
    expect((await client.login({ userId: 'alice', token: 'secret' })).code).toBe(0);
    reconnect = new AutoReconnect(client, { userId: 'alice', token: 'secret' }, { initialDelayMs: 20, maxDelayMs: 200 });
  });

  afterEach(async () => {
    reconnect.stop();
    await client.close();
    await im.close();
  });

  it('logs in again after a restart with the same firstLoginTime, and resends a pending QoS message', async () => {
    const firstLoginTime = client.firstLoginTime;
    expect(firstLoginTime).toBeGreaterThan(0);
    const events: string[] = [];
    reconnect.on('scheduled', () => events.push('scheduled'));
    reconnect.on('attemptFailed', () => events.push('failed'));
    const reconnected = new Promise<{ firstLoginTime: number }>((resolve) => reconnect.once('reconnected', resolve));

    const port = im.ports.tcp as number;
    await im.close();
    await waitFor(() => !client.isConnected);
    // At least one attempt finds nothing listening before the server is back.
    await waitFor(() => events.includes('failed'));
    im = await start(port);
    expect((await reconnected).firstLoginTime).toBe(firstLoginTime);
    expect(client.isLoggedIn).toBe(true);
    expect(im.app.get(Handlers).logins.map((l) => [l.loginUserId, l.firstLoginTime])).toEqual([['alice', firstLoginTime]]);
    // The session works: a message reaches bob on the new server.
    const bob = await im.login('tcp', 'bob', { token: 'secret' });
    await expect(client.sendC2C('bob', 'after the restart')).resolves.toBe('delivered');
    expect((await bob.expect({ type: 2, from: 'alice' })).dataContent).toBe('after the restart');
    expect(events.filter((e) => e === 'scheduled').length).toBeGreaterThanOrEqual(2);
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
