/**
 * End-to-end test of the sample app: the real AppModule on free ports, driven
 * over TCP/WebSocket with the library's wire-level test client and over HTTP.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { PacketType, PushService } from '../../lib';
import { IMCore } from '../../lib/core/im-core';
import { IMTestClient, until } from '../../lib/testing';
import { AppConfig } from '../../sample-app/app.config';
import { buildChatScript } from '../../sample-app/chat/build-chat';
import { RunningSample, startSampleApp } from '../support/sample-app';
import { BAD_CREDENTIALS } from '../../sample-app/im/chat.handlers';
import { MessageType } from '../../sample-app/im/message-types';
import { NO_SUCH_USER } from '../../sample-app/contacts/unknown-user.filter';

const HOST = '127.0.0.1';
const ADMIN_TOKEN = 'test-admin-token';

type Running = RunningSample;
const start = (overrides: Partial<AppConfig> = {}) => startSampleApp({ adminToken: ADMIN_TOKEN, ...overrides });

describe('sample app (normal mode)', () => {
  let s: Running;
  let scriptDir: string;
  const clients: IMTestClient[] = [];

  const connect = async (transport: 'tcp' | 'ws' = 'tcp') => {
    const c = await IMTestClient.connect(transport, s.ports[transport] as number, { host: HOST });
    clients.push(c);
    return c;
  };
  const loginAs = async (userId: string, transport: 'tcp' | 'ws' = 'tcp') => {
    const c = await connect(transport);
    const res = await c.login(userId, { token: `${userId}-secret` });
    expect(res.code).toBe(0);
    return c;
  };
  const post = async (path: string, body: unknown) => {
    const res = await fetch(s.http + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, body: await res.json() };
  };

  beforeAll(async () => {
    // The page script is bundled here, so the test does not depend on a prior `npm run build`.
    scriptDir = mkdtempSync(join(tmpdir(), 'im-chat-'));
    const chatScript = join(scriptDir, 'chat.js');
    await buildChatScript(chatScript);
    s = await start({ chatScript });
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  afterAll(async () => {
    await s?.app.close();
    rmSync(scriptDir, { recursive: true, force: true });
  });

  it('binds every listener on a free port', () => {
    expect(s.ports.tcp).toBeGreaterThan(0);
    expect(s.ports.udp).toBeGreaterThan(0);
    expect(s.ports.ws).toBeGreaterThan(0);
  });

  it('accepts a seeded user with the right token over TCP', async () => {
    const alice = await connect('tcp');
    const res = await alice.login('alice', { token: 'alice-secret' });
    expect(res.code).toBe(0);
    expect(res.firstLoginTime).toBeGreaterThan(0);
  });

  it('refuses a bad token (and an unknown user) with code 1025 and closes the connection', async () => {
    const bad = await connect('tcp');
    expect(await bad.login('alice', { token: 'wrong' })).toEqual({ code: BAD_CREDENTIALS, firstLoginTime: -1 });
    await bad.expectClosed();

    const stranger = await connect('tcp');
    expect((await stranger.login('mallory', { token: 'mallory-secret' })).code).toBe(BAD_CREDENTIALS);
    await stranger.expectClosed();
  });

  it('POST /push/:userId reports delivered once the client ACKs', async () => {
    const alice = await loginAs('alice');
    const pending = post('/push/alice', { data: { text: 'hello' }, typeu: 7 });
    const pushed = await alice.expect({ type: PacketType.DATA, from: '0', to: 'alice', QoS: true, typeu: 7 });
    expect(JSON.parse(pushed.dataContent as string)).toEqual({ text: 'hello' });
    alice.ack(pushed);
    const { status, body } = await pending;
    expect(status).toBe(200);
    expect(body).toEqual({ userId: 'alice', status: 'delivered', fp: pushed.fp });
  });

  it('POST /push/:userId reports offline for a user with no session', async () => {
    const { status, body } = await post('/push/nobody', { data: 'hi' });
    expect(status).toBe(200);
    expect(body).toMatchObject({ userId: 'nobody', status: 'offline' });
  });

  it('POST /push/:userId validates the body', async () => {
    expect((await post('/push/alice', { data: 42 })).status).toBe(400);
    expect((await post('/push/alice', { data: 'x', qos: 'yes' })).status).toBe(400);
  });

  it('GET /online, POST /broadcast and POST /kick/:userId', async () => {
    const alice = await loginAs('alice');
    const bob = await loginAs('bob', 'ws');

    const online = await (await fetch(`${s.http}/online`)).json();
    expect(online.count).toBe(2);
    expect([...online.users].sort()).toEqual(['alice', 'bob']);

    const broadcast = await post('/broadcast', { data: 'to all', qos: false });
    expect(broadcast.body).toHaveLength(2);
    expect(broadcast.body.map((r: { status: string }) => r.status)).toEqual(['sent', 'sent']);
    await alice.expect({ type: PacketType.DATA, dataContent: 'to all', QoS: false });
    await bob.expect({ type: PacketType.DATA, dataContent: 'to all', QoS: false });

    expect((await post('/kick/bob', { reason: 'maintenance' })).body).toEqual({ userId: 'bob', kicked: true });
    const kick = await bob.expect({ type: PacketType.KICKOUT });
    expect(JSON.parse(kick.dataContent as string)).toEqual({ code: 2, reason: 'maintenance' });
    await bob.expectClosed();
    expect((await post('/kick/bob', {})).body).toEqual({ userId: 'bob', kicked: false });
  });

  it('stores a C2C message for an offline user (the library store), tells the sender (notice, then ACK), and delivers it on login', async () => {
    const store = s.app.get(IMCore).store!;
    const bob = await loginAs('bob');
    const fp = bob.c2c('carol', 'hello carol', { typeu: 3 });
    // The notice comes first, so the ACK the server sends on carol's behalf is not read as delivered.
    const notice = await bob.expect({ type: PacketType.DATA, from: '0', to: 'bob', typeu: MessageType.STORED, QoS: false });
    expect(JSON.parse(notice.dataContent as string)).toEqual({ fp, to: 'carol', storedAt: expect.any(Number) });
    await bob.expect({ type: PacketType.ACK, dataContent: fp, from: 'carol', to: 'bob' });
    expect(await store.count('carol')).toBe(1);

    const carol = await loginAs('carol', 'ws');
    // As sent, then a notice that it waited (the page shows "sent while you were away").
    const delivered = await carol.expect({ type: PacketType.DATA, from: 'bob', to: 'carol', typeu: 3, fp, QoS: true, dataContent: 'hello carol' });
    const away = await carol.expect({ type: PacketType.DATA, from: '0', to: 'carol', typeu: MessageType.SENT_WHILE_AWAY, QoS: false });
    expect(JSON.parse(away.dataContent as string)).toEqual({ fp, from: 'bob', storedAt: expect.any(Number) });
    carol.ack(delivered);
    await until(async () => (await store.count('carol')) === 0);
  });

  it('keeps 1,000 messages for an offline user, refuses the next with the reason, and delivers them in order', async () => {
    const push = s.app.get(PushService);
    for (let i = 0; i < 1000; i++) expect((await push.send('carol', `n${i}`, { store: true, from: 'bob' })).status).toBe('stored');
    expect(await push.send('carol', 'one too many', { store: true, from: 'bob' })).toMatchObject({ status: 'offline', storeRefused: 'user-full' });
    const carol = await loginAs('carol', 'ws');
    const received = [];
    for (let i = 0; i < 1000; i++) received.push(await carol.expect({ type: PacketType.DATA, from: 'bob', dataContent: `n${i}` }));
    // Each leaves the store on its ACK. (300: within the sample's per-session burst, which ACKs still count against.)
    for (const p of received.slice(0, 300)) carol.ack(p);
    await until(async () => (await s.app.get(IMCore).store!.count('carol')) === 700);
  });

  it('answers the online query (C2S) with the user ids online', async () => {
    const alice = await loginAs('alice');
    await loginAs('bob', 'ws');
    const query = alice.c2s('', { typeu: MessageType.ONLINE_QUERY });
    await alice.expect({ type: PacketType.ACK, dataContent: query });
    const answer = await alice.expect({ type: PacketType.DATA, from: '0', typeu: MessageType.ONLINE_USERS, QoS: false });
    expect(JSON.parse(answer.dataContent as string)).toEqual({ users: ['alice', 'bob'], count: 2 });
  });

  it('does not store messages for unknown users (no ACK)', async () => {
    const bob = await loginAs('bob');
    bob.c2c('nobody', 'lost in space');
    await bob.expectNothing(300);
    expect(await s.app.get(IMCore).store!.count('nobody')).toBe(0);
  });

  it('validates the C2S status command and answers a bad payload with a type-52 error', async () => {
    const alice = await loginAs('alice');
    const bad = alice.c2s('{"status":"asleep"}', { typeu: MessageType.STATUS });
    await alice.expect({ type: PacketType.ACK, dataContent: bad });
    const err = await alice.expect({ type: PacketType.ERROR });
    expect(JSON.parse(err.dataContent as string)).toMatchObject({ errorCode: 400 });

    const good = alice.c2s('{"status":"away","message":"lunch"}', { typeu: MessageType.STATUS });
    await alice.expect({ type: PacketType.ACK, dataContent: good });
    await alice.expectNothing(200);
  });

  it('a blocked sender is refused by the guard on @OnC2C: no delivery, no ACK, error 403', async () => {
    const alice = await loginAs('alice');
    const bob = await loginAs('bob', 'ws');
    const block = alice.c2s('{"user":"bob"}', { typeu: MessageType.BLOCK });
    await alice.expect({ type: PacketType.ACK, dataContent: block });
    const refused = bob.c2c('alice', 'hello?');
    expect(JSON.parse((await bob.expect({ type: PacketType.ERROR, fp: refused })).dataContent as string).errorCode).toBe(403);
    await alice.expectNothing(150);
    alice.c2s('{"user":"bob","unblock":true}', { typeu: MessageType.BLOCK });
    await alice.expect({ type: PacketType.ACK });
    const fp = bob.c2c('alice', 'now?');
    alice.ack(await alice.expect({ type: PacketType.DATA, fp }));
    await bob.expect({ type: PacketType.ACK, dataContent: fp });
  });

  it('a filter maps the block list\'s UnknownUserError to IM error 1104', async () => {
    const alice = await loginAs('alice');
    alice.c2s('{"user":"nobody"}', { typeu: MessageType.BLOCK });
    await alice.expect({ type: PacketType.ACK });
    const err = JSON.parse((await alice.expect({ type: PacketType.ERROR })).dataContent as string);
    expect(err).toEqual({ errorCode: NO_SUCH_USER, errorMsg: 'no such user: nobody' });
  });

  it('serves the chat page and its config', async () => {
    const page = await fetch(`${s.http}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script src="chat.js">');
    const script = await fetch(`${s.http}/chat.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    // The bundle carries the shipped client (no hand-written protocol code).
    expect(await script.text()).toContain('lib/client/im-client.ts');
    expect(await (await fetch(`${s.http}/config.json`)).json()).toEqual({ wsPort: s.ports.ws, wsPath: '/websocket' });
  });
});

describe('sample app (IM_DEMO=reference)', () => {
  let s: Running;
  const clients: IMTestClient[] = [];

  beforeAll(async () => {
    s = await start({ demo: 'reference' });
  });

  afterAll(async () => {
    for (const c of clients.splice(0)) c.close();
    await s?.app.close();
  });

  it('accepts any user and token, and does not ACK C2C to an offline user', async () => {
    const a = await IMTestClient.connect('tcp', s.ports.tcp as number, { host: HOST });
    clients.push(a);
    expect((await a.login('anyone', { token: 'whatever' })).code).toBe(0);
    a.c2c('nobody-online', 'x');
    await a.expectNothing(300);
  });
});
