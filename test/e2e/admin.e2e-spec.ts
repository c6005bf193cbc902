/**
 * The sample app's admin surface over HTTP: the admin API (list, kick, push,
 * counters), /metrics through @willsoto/nestjs-prometheus, /health, and the
 * bearer-token rules of every admin endpoint.
 */
import { PacketType } from '../../lib';
import { sample } from '../support/prom-text';
import { RunningSample, startSampleApp } from '../support/sample-app';

const TOKEN = 'a-long-random-admin-token';

async function call(
  s: RunningSample,
  path: string,
  init: { method?: string; token?: string; json?: unknown; body?: string; type?: string } = {},
): Promise<{ status: number; text: string; type: string | null }> {
  const headers: Record<string, string> = {};
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  if (init.json !== undefined) headers['content-type'] = 'application/json';
  if (init.type !== undefined) headers['content-type'] = init.type;
  const res = await fetch(s.http + path, {
    method: init.method ?? (init.json !== undefined || init.body !== undefined ? 'POST' : 'GET'),
    headers,
    body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
}

describe('admin endpoints without IM_ADMIN_TOKEN', () => {
  let s: RunningSample;
  beforeAll(async () => {
    s = await startSampleApp();
  });
  afterAll(() => s?.close());

  it('are off, while /health and the chat page stay up', async () => {
    for (const path of ['/admin', '/admin/api/users', '/admin/api/counters', '/metrics']) {
      expect({ path, status: (await call(s, path, { token: 'anything' })).status }).toEqual({ path, status: 404 });
    }
    expect((await call(s, '/push/alice', { json: { data: 'x' }, token: 'anything' })).status).toBe(404);
    expect((await call(s, '/broadcast', { json: { data: 'x' } })).status).toBe(404);
    expect((await call(s, '/kick/alice', { json: {} })).status).toBe(404);
    expect((await call(s, '/health')).status).toBe(200);
    expect((await call(s, '/online')).status).toBe(200);
  });
});

describe('admin endpoints with IM_ADMIN_TOKEN', () => {
  let s: RunningSample;
  beforeAll(async () => {
    s = await startSampleApp({ adminToken: TOKEN });
  });
  afterAll(() => s?.close());

  it('refuse a missing or wrong token with 401', async () => {
    expect((await call(s, '/admin/api/users')).status).toBe(401);
    expect((await call(s, '/admin/api/users', { token: 'wrong' })).status).toBe(401);
    expect((await call(s, '/admin/api/users', { token: TOKEN + 'x' })).status).toBe(401);
    expect((await call(s, '/metrics', { token: 'wrong' })).status).toBe(401);
    expect((await call(s, '/push/alice', { json: { data: 'x' }, token: 'wrong' })).status).toBe(401);
  });

  it('refuse form-encoded posts, the only kind a cross-site form can send', async () => {
    const form = { body: 'data=hello', type: 'application/x-www-form-urlencoded' };
    expect((await call(s, '/push/alice', form)).status).toBe(401);
    expect((await call(s, '/push/alice', { ...form, token: TOKEN })).status).toBe(415);
    expect((await call(s, '/broadcast', { body: 'data=x', type: 'text/plain', token: TOKEN })).status).toBe(415);
    expect((await call(s, '/admin/api/users/alice/kick', { ...form, token: TOKEN })).status).toBe(415);
  });

  it('list online users with transport, login time and address, and search them', async () => {
    const before = Date.now();
    await s.login('alice', 'tcp');
    await s.login('bob', 'ws');
    const all = JSON.parse((await call(s, '/admin/api/users', { token: TOKEN })).text);
    expect(all.total).toBe(2);
    expect(all.users.map((u: { userId: string; transport: string }) => `${u.userId}:${u.transport}`)).toEqual(['alice:tcp', 'bob:ws']);
    expect(all.users[0]).toMatchObject({ remoteAddress: '127.0.0.1', sessionId: expect.any(Number) });
    expect(all.users[0].loginTime).toBeGreaterThanOrEqual(before - 1000);
    const first = JSON.parse((await call(s, '/admin/api/users?limit=1', { token: TOKEN })).text);
    expect(first).toMatchObject({ total: 2, users: [{ userId: 'alice' }] });
    const bob = JSON.parse((await call(s, '/admin/api/users?search=BO', { token: TOKEN })).text);
    expect(bob.users.map((u: { userId: string }) => u.userId)).toEqual(['bob']);
  });

  it('kick a user: the client gets kick-out code 2 with the reason and is closed', async () => {
    const carol = await s.login('carol', 'ws');
    const res = await call(s, '/admin/api/users/carol/kick', { json: { reason: 'maintenance' }, token: TOKEN });
    expect(JSON.parse(res.text)).toEqual({ userId: 'carol', kicked: true });
    const kick = await carol.expect({ type: PacketType.KICKOUT });
    expect(JSON.parse(kick.dataContent as string)).toMatchObject({ code: 2, reason: 'maintenance' });
    await carol.expectClosed();
    expect(JSON.parse((await call(s, '/admin/api/users/carol/kick', { json: {}, token: TOKEN })).text).kicked).toBe(false);
  });

  it('push to a user and report the delivery result; the counters move', async () => {
    const alice = await s.login('alice', 'udp');
    const pending = call(s, '/admin/api/users/alice/push', { json: { data: 'from the console' }, token: TOKEN });
    alice.ack(await alice.expect({ type: PacketType.DATA, dataContent: 'from the console' }));
    expect(JSON.parse((await pending).text)).toMatchObject({ userId: 'alice', status: 'delivered' });
    const counters = JSON.parse((await call(s, '/admin/api/counters', { token: TOKEN })).text);
    expect(counters).toMatchObject({ online: expect.any(Number), pendingQoS: 0 });
    expect(counters.stats.delivered).toBeGreaterThanOrEqual(1);
  });

  it('serve /metrics through @willsoto/nestjs-prometheus with the IM metrics in it', async () => {
    await s.login('bob', 'tcp');
    const res = await call(s, '/metrics', { token: TOKEN });
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/plain/);
    expect(sample(res.text, 'im_logins_total{transport="tcp",outcome="accepted"}')).toBeGreaterThanOrEqual(1);
    expect(res.text).toContain('# TYPE im_qos_ack_rtt_seconds histogram');
  });

  it('serve the console page to a token holder, and /health to anyone', async () => {
    const page = await call(s, '/admin');
    expect(page.status).toBe(200);
    expect(page.text).toContain('nestjs-im admin');
    expect((await call(s, '/admin/console.js')).status).toBe(200);
    const health = JSON.parse((await call(s, '/health')).text);
    expect(health).toMatchObject({ status: 'ok', details: { im: { status: 'up' } } });
  });
});
