import { Injectable } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { once } from 'events';
import * as http from 'http';
import { WebSocket } from 'ws';
import { OnLogin } from '../../lib';
import { IMTestingApp, startIMTestingApp } from '../../lib/testing';

@Injectable()
class AcceptAll {
  @OnLogin()
  login(): number {
    return 0;
  }
}

/** The application's own gateway, on the same HTTP server as the IM path. */
@WebSocketGateway({ path: '/chat' })
class ChatGateway {
  @SubscribeMessage('hello')
  hello(@MessageBody() name: string) {
    return { event: 'hello', data: `hello ${name}` };
  }
}

/** Opens a raw WebSocket; resolves with it once open, rejects with the HTTP status of a refused upgrade. */
function openWs(port: number, path: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res: http.IncomingMessage) => {
      reject(new Error(`upgrade refused with ${res.statusCode}`));
      res.resume();
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

/** The app gateway answers its `hello` event. */
async function askGateway(port: number): Promise<unknown> {
  const ws = await openWs(port, '/chat');
  try {
    const reply = once(ws, 'message');
    ws.send(JSON.stringify({ event: 'hello', data: 'nest' }));
    const [data] = await reply;
    return JSON.parse(String(data));
  } finally {
    ws.close();
  }
}

describe('WebSocket on the shared HTTP server (ws.port "http")', () => {
  describe("beside the application's own @WebSocketGateway on WsAdapter", () => {
    let im: IMTestingApp;
    beforeAll(async () => {
      im = await startIMTestingApp({
        providers: [AcceptAll, ChatGateway],
        http: true,
        configure: (app) => (app as { useWebSocketAdapter(a: WsAdapter): void }).useWebSocketAdapter(new WsAdapter(app)),
        im: { tcp: false, udp: false },
      });
    });
    afterAll(() => im.close());

    it('serves both paths on one port: the IM protocol at /websocket and the gateway at /chat', async () => {
      expect(im.ports.ws).toBe(im.httpPort);
      const client = await im.connect('ws');
      expect((await client.login('alice')).code).toBe(0);
      await expect(askGateway(im.httpPort!)).resolves.toEqual({ event: 'hello', data: 'hello nest' });
      // Both at once: the IM session is still served after the gateway's traffic.
      client.keepalive();
      await client.expect({ type: 51 });
    });

    it('answers an upgrade for a path nobody serves with 404 at once', async () => {
      await expect(openWs(im.httpPort!, '/nobody-here')).rejects.toThrow(/404/);
    });

    it('leaves the gateway serving once the IM listener is closed, and the IM path then gets 404', async () => {
      await im.server.ws!.close();
      await expect(openWs(im.httpPort!, '/websocket')).rejects.toThrow(/404/);
      await expect(askGateway(im.httpPort!)).resolves.toEqual({ event: 'hello', data: 'hello nest' });
    });
  });

  it('answers an upgrade for a path nobody serves with 404 at once when the app has no gateway', async () => {
    const im = await startIMTestingApp({ providers: [AcceptAll], http: true, im: { tcp: false, udp: false } });
    try {
      await expect(openWs(im.httpPort!, '/elsewhere')).rejects.toThrow(/404/);
      const client = await im.connect('ws');
      expect((await client.login('bob')).code).toBe(0);
    } finally {
      await im.close();
    }
  });

  it("leaves a path to the application's own upgrade listener", async () => {
    let seen: string | undefined;
    const im = await startIMTestingApp({
      providers: [AcceptAll],
      http: true,
      im: { tcp: false, udp: false },
      configure: (app) => {
        const server = (app as { getHttpServer(): http.Server }).getHttpServer();
        server.on('upgrade', (req: http.IncomingMessage, socket) => {
          if (req.url !== '/raw') return;
          seen = req.url;
          socket.end('HTTP/1.1 418 I am a teapot\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        });
      },
    });
    try {
      await expect(openWs(im.httpPort!, '/raw')).rejects.toThrow(/418/);
      expect(seen).toBe('/raw');
      const client = await im.connect('ws');
      expect((await client.login('carol')).code).toBe(0);
    } finally {
      await im.close();
    }
  });
});
