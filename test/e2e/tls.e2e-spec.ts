import { readFileSync } from 'fs';
import { request } from 'http';
import { connect } from 'net';
import { join } from 'path';
import tls from 'tls';
import { Injectable } from '@nestjs/common';
import { OnLogin } from '../../lib';
import { WebSocket } from 'ws';
import { IMClient, TcpLink, WebSocketConstructor, WsLink } from '../../lib/client';
import { IMTestingApp, startIMTestingApp } from '../../lib/testing';

const dir = join(__dirname, '../fixtures/tls');
const key = readFileSync(join(dir, 'key.pem'));
const cert = readFileSync(join(dir, 'cert.pem'));

@Injectable()
class AcceptAll {
  @OnLogin()
  login(): number {
    return 0;
  }
}

describe('TLS and WebSocket handshakes', () => {
  let im: IMTestingApp;
  beforeAll(async () => {
    im = await startIMTestingApp({ providers: [AcceptAll], im: { tcp: { tls: { key, cert } }, ws: { tls: { key, cert } } } });
  });
  afterAll(() => im.close());

  it('runs the same framing inside TLS on TCP', async () => {
    const a = await im.connect('tcp', { tls: { ca: cert } });
    expect((await a.login('alice')).code).toBe(0);
    a.keepalive();
    await a.expect({ type: 51 });
  });

  it('serves wss and chats with a TLS TCP user', async () => {
    const w = await im.connect('ws', { tls: { ca: cert } });
    await w.login('bob');
    const t = await im.connect('tcp', { tls: { ca: cert } });
    await t.login('carol');
    const fp = w.c2c('carol', 'over TLS');
    await t.expect({ type: 2, fp });
    await w.expect({ type: 4, dataContent: fp });
  });

  it('the shipped client chats over TLS TCP and wss', async () => {
    /** `ws` with the test CA trusted, given to the link as its WebSocket class. */
    class TrustingWebSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[], options?: object) {
        super(url, protocols, { ...options, ca: cert });
      }
    }
    const tcp = new IMClient(new TcpLink({ host: '127.0.0.1', port: im.ports.tcp!, tls: { ca: cert } }), { keepalive: false });
    const wss = new IMClient(
      new WsLink({ url: `wss://127.0.0.1:${im.ports.ws}/websocket`, WebSocket: TrustingWebSocket as unknown as WebSocketConstructor }),
      { keepalive: false },
    );
    try {
      await tcp.connect();
      await wss.connect();
      expect((await tcp.login({ userId: 'dora', token: 't' })).code).toBe(0);
      expect((await wss.login({ userId: 'eve', token: 't' })).code).toBe(0);
      const received = new Promise((resolve) => wss.once('message', resolve));
      expect(await tcp.sendC2C('eve', 'over TLS')).toBe('delivered');
      expect(await received).toMatchObject({ type: 2, from: 'dora', dataContent: 'over TLS' });
    } finally {
      await tcp.close();
      await wss.close();
    }
  });

  it('the shipped TLS client names the server (SNI) only when it is a host name: no DEP0123 warning for an IP', async () => {
    const connectSpy = jest.spyOn(tls, 'connect');
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const byIp = new TcpLink({ host: '127.0.0.1', port: im.ports.tcp!, tls: { ca: cert } });
      await byIp.open();
      byIp.close();
      expect(connectSpy.mock.calls[0][0]).not.toHaveProperty('servername');
      const byName = new TcpLink({ host: 'localhost', port: im.ports.tcp!, tls: { ca: cert } });
      await byName.open().then(() => byName.close(), () => undefined); // only the options matter here
      expect(connectSpy.mock.calls[1][0]).toMatchObject({ servername: 'localhost' });
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      expect(warnings.map((w) => w.message)).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      connectSpy.mockRestore();
    }
  });

  it('refuses a client that does not trust the certificate', async () => {
    await expect(im.connect('tcp', { tls: {} })).rejects.toThrow(/self-signed|certificate/);
  });
});

describe('WebSocket handshake failures', () => {
  let im: IMTestingApp;
  beforeAll(async () => {
    im = await startIMTestingApp({ providers: [AcceptAll] });
  });
  afterAll(() => im.close());

  /** Sends a raw HTTP upgrade request and returns the status line and headers. */
  function rawUpgrade(path: string, headers: Record<string, string>): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(im.ports.ws!, '127.0.0.1');
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
      const lines = Object.entries({ Host: '127.0.0.1', Connection: 'Upgrade', Upgrade: 'websocket', ...headers }).map(([k, v]) => `${k}: ${v}`);
      socket.write(`GET ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
    });
  }

  it('answers an unsupported version with 426 and the supported version', async () => {
    const res = await rawUpgrade('/websocket', { 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '5' });
    expect(res).toMatch(/^HTTP\/1.1 426 /);
    expect(res).toMatch(/Sec-WebSocket-Version: 13/);
  });

  it('answers a missing key with 400 and another path with 404', async () => {
    expect(await rawUpgrade('/websocket', { 'Sec-WebSocket-Version': '13' })).toMatch(/^HTTP\/1.1 400 /);
    expect(await rawUpgrade('/other', { 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13' })).toMatch(/^HTTP\/1.1 404 /);
  });

  it('answers a plain GET with 400', async () => {
    const status = await new Promise<number>((resolve, reject) =>
      request({ host: '127.0.0.1', port: im.ports.ws, path: '/websocket' }, (res) => resolve(res.statusCode ?? 0)).on('error', reject).end(),
    );
    expect(status).toBe(400);
  });

  it('reassembles a fragmented text message (QUIRK-16 fix)', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${im.ports.ws}/websocket`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const reply = new Promise<string>((resolve) => ws.once('message', (data) => resolve(data.toString())));
    ws.send('{"type":5,"dataContent":', { fin: false });
    ws.send('"in two frames"}', { fin: true });
    expect(JSON.parse(await reply)).toMatchObject({ type: 53, dataContent: 'in two frames' });
    ws.close();
  });

  it('accepts /websocket with a query string (QUIRK-15 fix)', async () => {
    const w = await im.connect('ws', { path: '/websocket?token=abc&v=2' });
    expect((await w.login('q')).code).toBe(0);
  });
});
