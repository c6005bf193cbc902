import * as dgram from 'dgram';
import * as net from 'net';
import { WebSocket as WsSocket, WebSocketServer } from 'ws';
import { IMClient, LinkCloseInfo, TcpLink, UdpLink, WebSocketConstructor, WsLink } from '../../lib/client';
import { encodePacket } from '../../lib/protocol/packet-codec';
import { until as waitUntil } from '../../lib/testing';
import { loginResponse } from '../../lib/protocol/payloads';
import { encodeTcpFrame, TcpFrameDecoder } from '../../lib/protocol/tcp-frame-decoder';

const HOST = '127.0.0.1';
const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Collects link callbacks into arrays and resolvable waits. */
function watch(link: { onPacket?: (t: string) => void; onClose?: (i: LinkCloseInfo) => void }) {
  const packets: string[] = [];
  let closeInfo: LinkCloseInfo | undefined;
  const closed = new Promise<LinkCloseInfo>((resolve) => {
    link.onClose = (info) => resolve((closeInfo = info));
  });
  link.onPacket = (t) => packets.push(t);
  const until = async (n: number): Promise<string[]> => {
    await waitUntil(() => packets.length >= n, { message: `${n} packets (got ${packets.length})` });
    return packets;
  };
  return { packets, closed, until, get closeInfo() { return closeInfo; } };
}

/** A raw TCP server; `onSocket` gets each accepted socket. */
async function tcpServer(onSocket: (s: net.Socket) => void): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.setNoDelay(true);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(r));
  });
  return (server.address() as net.AddressInfo).port;
}

describe('TcpLink', () => {
  it('decodes frames split across writes, and several frames in one write', async () => {
    const bodies = ['{"type":51,"dataContent":"{}"}', '{"type":2,"dataContent":"héllo ✓ 😀"}', '{"type":53,"dataContent":"x"}'];
    const wire = Buffer.concat(bodies.map((b) => encodeTcpFrame(b)));
    const port = await tcpServer(async (s) => {
      // Byte by byte across the first frame (header and a multi-byte character split), then the rest in one write.
      const firstEnd = encodeTcpFrame(bodies[0]).length + 7;
      for (let i = 0; i < firstEnd; i++) {
        s.write(wire.subarray(i, i + 1));
        await sleep(1);
      }
      s.write(wire.subarray(firstEnd));
    });
    const link = new TcpLink({ host: HOST, port });
    const w = watch(link);
    await link.open();
    cleanups.push(() => link.close());
    expect(await w.until(3)).toEqual(bodies);
  });

  it('frames what it sends with a 4-byte big-endian length', async () => {
    const chunks: Buffer[] = [];
    let got!: () => void;
    const received = new Promise<void>((r) => (got = r));
    const port = await tcpServer((s) =>
      s.on('data', (c) => {
        chunks.push(c);
        if (Buffer.concat(chunks).length >= 4 + Buffer.byteLength('{"a":"é"}') * 2) got();
      }),
    );
    const link = new TcpLink({ host: HOST, port });
    await link.open();
    cleanups.push(() => link.close());
    link.send('{"a":"é"}');
    link.send('{"a":"é"}');
    await received;
    const all = Buffer.concat(chunks);
    expect(all.readUInt32BE(0)).toBe(10);
    expect(all.subarray(4, 14).toString('utf8')).toBe('{"a":"é"}');
    const bodies: string[] = [];
    new TcpFrameDecoder(6144).push(all, (b) => bodies.push(b.toString('utf8')));
    expect(bodies).toEqual(['{"a":"é"}', '{"a":"é"}']);
  });

  it('drops the link on a frame over the SDK limit, as the SDKs do', async () => {
    const port = await tcpServer((s) => {
      const header = Buffer.alloc(4);
      header.writeUInt32BE(6145, 0);
      s.write(header);
    });
    const link = new TcpLink({ host: HOST, port });
    const w = watch(link);
    await link.open();
    const info = await w.closed;
    expect(info.local).toBe(false);
    expect(info.error?.message).toMatch(/size limit/);
    expect(link.isOpen).toBe(false);
  });

  it('flushes pending frames on close() and reports a local close', async () => {
    let serverGot = '';
    let serverEnded!: () => void;
    const ended = new Promise<void>((r) => (serverEnded = r));
    const port = await tcpServer((s) => {
      const d = new TcpFrameDecoder(6144);
      s.on('data', (c) => d.push(c, (b) => (serverGot += b.toString())));
      s.on('end', () => {
        serverEnded();
        s.end();
      });
    });
    const link = new TcpLink({ host: HOST, port });
    const w = watch(link);
    await link.open();
    link.send('{"type":3}');
    link.close();
    expect(() => link.send('{}')).toThrow('not open');
    expect(await w.closed).toEqual({ local: true, error: undefined });
    await ended;
    expect(serverGot).toBe('{"type":3}');
  });

  it('sendRaw writes bytes with no header; abort() drops the connection at once and reports a local close', async () => {
    const chunks: Buffer[] = [];
    let serverClosed!: () => void;
    const closedAtServer = new Promise<void>((r) => (serverClosed = r));
    const port = await tcpServer((s) => {
      s.on('data', (c) => chunks.push(c));
      s.on('close', () => serverClosed());
    });
    const link = new TcpLink({ host: HOST, port });
    const w = watch(link);
    await link.open();
    link.sendRaw(Buffer.from('not framed'));
    await waitUntil(() => Buffer.concat(chunks).length >= 10);
    expect(Buffer.concat(chunks).toString()).toBe('not framed');
    link.abort();
    expect(link.isOpen).toBe(false);
    expect(() => link.sendRaw(Buffer.from('x'))).toThrow('not open');
    expect(await w.closed).toEqual({ local: true, error: undefined });
    await closedAtServer;
  });

  it('can be opened again after it closed', async () => {
    let accepted = 0;
    const port = await tcpServer(() => accepted++);
    const link = new TcpLink({ host: HOST, port });
    await link.open();
    const first = watch(link);
    link.close();
    await first.closed;
    await link.open();
    expect(link.isOpen).toBe(true);
    link.close();
    await waitUntil(() => accepted === 2);
  });
});

describe('UdpLink', () => {
  it('sends one packet per datagram from an ephemeral port on the given local address, and accepts only the server', async () => {
    const server = dgram.createSocket('udp4');
    const datagrams: Array<{ text: string; port: number; address: string }> = [];
    server.on('message', (m, r) => {
      datagrams.push({ text: m.toString(), port: r.port, address: r.address });
      server.send(`{"type":53,"dataContent":${JSON.stringify(m.toString())}}`, r.port, r.address);
    });
    await new Promise<void>((r) => server.bind(0, HOST, r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));

    const link = new UdpLink({ host: HOST, port: server.address().port, localAddress: HOST });
    const w = watch(link);
    await link.open();
    cleanups.push(() => link.close());
    expect(link.localPort).toBeGreaterThan(0);
    link.send('{"type":5,"dataContent":"a"}');
    link.send('{"type":5,"dataContent":"b"}');
    await w.until(2);
    expect(datagrams.map((d) => d.text)).toEqual(['{"type":5,"dataContent":"a"}', '{"type":5,"dataContent":"b"}']);
    expect(datagrams[0]).toMatchObject({ address: HOST, port: link.localPort });

    // A stranger's datagram is filtered out by the connected socket.
    const stranger = dgram.createSocket('udp4');
    await new Promise<void>((r) => stranger.bind(0, HOST, r));
    await new Promise<void>((r) => stranger.send('{"type":2,"dataContent":"spoof"}', link.localPort as number, HOST, () => r()));
    stranger.close();
    // The server's next datagram is queued after the stranger's: once it is in, the spoof was dropped.
    server.send('{"type":53,"dataContent":"after"}', link.localPort as number, HOST);
    expect((await w.until(3))[2]).toBe('{"type":53,"dataContent":"after"}');
    expect(w.packets).toHaveLength(3);

    link.close();
    expect(await w.closed).toEqual({ local: true });
  });

  it('sendRaw sends the bytes as one datagram; abort() after close() closes once', async () => {
    const server = dgram.createSocket('udp4');
    const datagrams: Buffer[] = [];
    server.on('message', (m) => datagrams.push(m));
    await new Promise<void>((r) => server.bind(0, HOST, r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const link = new UdpLink({ host: HOST, port: server.address().port, localAddress: HOST });
    const w = watch(link);
    await link.open();
    link.sendRaw(Buffer.from([0xff, 0x00, 0x7b]));
    await waitUntil(() => datagrams.length === 1);
    expect([...datagrams[0]]).toEqual([0xff, 0x00, 0x7b]);
    link.send('{"type":3}');
    link.close();
    link.abort();
    link.abort();
    expect(await w.closed).toEqual({ local: true });
  });
});

describe('WsLink', () => {
  async function wsServer(onConn: (ws: WsSocket, path: string) => void): Promise<number> {
    const wss = new WebSocketServer({ host: HOST, port: 0 });
    await new Promise<void>((r) => wss.once('listening', r));
    wss.on('connection', (ws, req) => onConn(ws, req.url ?? ''));
    cleanups.push(() => {
      for (const c of wss.clients) c.terminate();
      return new Promise((r) => wss.close(r));
    });
    return (wss.address() as net.AddressInfo).port;
  }

  it('builds the /websocket URL, with brackets for IPv6 and wss when secure', () => {
    expect(new WsLink({ host: 'example.com', port: 3000 }).url).toBe('ws://example.com:3000/websocket');
    expect(new WsLink({ host: '::1', port: 3000, secure: true }).url).toBe('wss://[::1]:3000/websocket');
    expect(new WsLink({ url: 'ws://h:1/x' }).url).toBe('ws://h:1/x');
    expect(() => new WsLink({ host: 'h' })).toThrow('url or host and port');
  });

  it('exchanges text frames at /websocket, reads binary frames as UTF-8 and reports a server close', async () => {
    const paths: string[] = [];
    const fromClient: Array<{ text: string; binary: boolean }> = [];
    const port = await wsServer((ws, path) => {
      paths.push(path);
      ws.on('message', (d, binary) => {
        fromClient.push({ text: d.toString(), binary });
        ws.send('{"type":53,"dataContent":"ü"}');
        ws.send(Buffer.from('{"type":51}'), { binary: true });
        ws.close(1000, 'Bye');
      });
    });
    const link = new WsLink({ host: HOST, port });
    const w = watch(link);
    await link.open();
    expect(link.isOpen).toBe(true);
    link.send('{"type":5,"dataContent":"hi"}');
    expect(await w.until(2)).toEqual(['{"type":53,"dataContent":"ü"}', '{"type":51}']);
    expect(await w.closed).toEqual({ local: false, error: undefined, code: 1000 });
    expect(paths).toEqual(['/websocket']);
    expect(fromClient).toEqual([{ text: '{"type":5,"dataContent":"hi"}', binary: false }]);
  });

  it('sendRaw sends a binary message; abort() drops the connection without a close frame', async () => {
    const got: Array<{ data: Buffer; binary: boolean }> = [];
    let serverClose!: (code: number) => void;
    const serverClosed = new Promise<number>((r) => (serverClose = r));
    const port = await wsServer((ws) => {
      ws.on('message', (data, binary) => got.push({ data: data as Buffer, binary }));
      ws.on('close', (code) => serverClose(code));
    });
    const link = new WsLink({ host: HOST, port });
    const w = watch(link);
    await link.open();
    link.sendRaw(Buffer.from('{"type":1}'));
    await waitUntil(() => got.length === 1);
    expect(got[0]).toEqual({ data: Buffer.from('{"type":1}'), binary: true });
    link.abort();
    expect(link.isOpen).toBe(false);
    expect((await w.closed).local).toBe(true);
    expect(await serverClosed).toBe(1006);
  });

  it('works with an injected browser-style WebSocket class', async () => {
    const constructed: string[] = [];
    const port = await wsServer((ws) => ws.on('message', (d) => ws.send(String(d).replace('"type":5', '"type":53'))));
    // Only the WHATWG surface (on* handlers, send, close) is used, as with a browser's global WebSocket.
    const BrowserLike = class extends WsSocket {
      constructor(url: string) {
        super(url);
        constructed.push(url);
      }
    } as unknown as WebSocketConstructor;
    const link = new WsLink({ host: HOST, port, WebSocket: BrowserLike });
    const w = watch(link);
    await link.open();
    link.send('{"type":5,"dataContent":"b"}');
    expect(await w.until(1)).toEqual(['{"type":53,"dataContent":"b"}']);
    link.close();
    expect(await w.closed).toEqual({ local: true, error: undefined, code: 1000 });
    expect(constructed).toEqual([`ws://${HOST}:${port}/websocket`]);
  });

  it('rejects open() when the handshake fails', async () => {
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, HOST, r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const link = new WsLink({ host: HOST, port: (server.address() as net.AddressInfo).port });
    await expect(link.open()).rejects.toThrow();
    expect(link.isOpen).toBe(false);
  });
});

describe('IMClient over a TCP server that splits its frames', () => {
  it('logs in and receives messages whose frames arrive in pieces', async () => {
    const port = await tcpServer((s) => {
      const d = new TcpFrameDecoder(6144);
      s.on('data', (c) =>
        d.push(c, async (body) => {
          const p = JSON.parse(body.toString()) as { type: number; from: string };
          if (p.type !== 0) return;
          const login = encodeTcpFrame(encodePacket(loginResponse(0, p.from, 77)));
          const push = encodeTcpFrame('{"bridge":false,"type":2,"dataContent":"split ✓","from":"0","to":"' + p.from + '","fp":"f1","QoS":true,"typeu":-1,"sm":-1}');
          const wire = Buffer.concat([login, push]);
          // Cut at 2, inside the header, and in the middle of the second frame.
          for (const [a, b] of [[0, 2], [2, login.length + 3], [login.length + 3, wire.length - 5], [wire.length - 5, wire.length]]) {
            s.write(wire.subarray(a, b));
            await sleep(5);
          }
        }),
      );
    });
    const client = new IMClient(new TcpLink({ host: HOST, port }), { keepalive: false, requestTimeoutMs: 2000 });
    cleanups.push(() => client.close());
    const message = new Promise<string | undefined>((r) => client.once('message', (p) => r(p.dataContent)));
    await client.connect();
    await expect(client.login({ userId: 'split' })).resolves.toEqual({ code: 0, firstLoginTime: 77 });
    expect(await message).toBe('split ✓');
  });
});
