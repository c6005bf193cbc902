import { WsAdapter } from '@nestjs/platform-ws';
import type { IncomingMessage, Server as HttpServer } from 'http';
import type { Duplex } from 'stream';

/**
 * `@nestjs/platform-ws`'s `WsAdapter` for an HTTP server nestjs-im owns or
 * shares: the adapter creates the `ws` servers and dispatches upgrades by path
 * (as it does for `@WebSocketGateway`s), but an upgrade for a path no server
 * serves gets a prompt `404` and a close instead of a bare reset, unless
 * another `upgrade` listener on the HTTP server may serve it.
 */
export class IMWsAdapter extends WsAdapter {
  private readonly dispatchers: [HttpServer, (req: IncomingMessage, socket: Duplex, head: Buffer) => void][] = [];

  protected override ensureHttpServerExists(port: number, httpServer?: HttpServer): HttpServer | undefined {
    if (this.httpServersRegistry.has(port) || !httpServer) return super.ensureHttpServerExists(port, httpServer);
    this.httpServersRegistry.set(port, httpServer);
    const dispatch = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const target = (this.wsServersRegistry.get(port) ?? []).find((s) => s.path === upgradePath(req));
      if (target) return target.handleUpgrade(req, socket, head, (ws: unknown) => target.emit('connection', ws, req));
      // Another listener (a raw `ws` server of the application) may serve the path.
      if (httpServer.listenerCount('upgrade') === 1) rejectUpgrade(socket, 404, 'Not Found');
    };
    httpServer.on('upgrade', dispatch);
    this.dispatchers.push([httpServer, dispatch]);
    return httpServer;
  }

  /** Also detaches the dispatch from HTTP servers that outlive the adapter (the Nest one). */
  override async dispose(): Promise<void> {
    for (const [server, dispatch] of this.dispatchers.splice(0)) server.off('upgrade', dispatch);
    this.httpServersRegistry.clear();
    this.wsServersRegistry.clear();
  }
}

/** The path of an upgrade request as `WsAdapter` compares it (no query string). */
export function upgradePath(req: IncomingMessage): string {
  try {
    return new URL(req.url ?? '/', 'ws://localhost/').pathname;
  } catch {
    return '';
  }
}

/** Answers an upgrade with an HTTP status and closes the socket. */
export function rejectUpgrade(socket: Duplex, status: number, text: string, headers = ''): void {
  if (socket.writable) socket.end(`HTTP/1.1 ${status} ${text}\r\n${headers}Connection: close\r\nContent-Length: 0\r\n\r\n`);
  else socket.destroy();
}
