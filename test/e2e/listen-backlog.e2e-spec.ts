/**
 * The listeners' accept queues: Node 20 accepts one connection per event-loop turn, so a login
 * burst waits in the kernel's queue, and a full queue drops SYNs that clients retry after a second
 * or more (with the default 511, 19,000 WebSocket logins at 2,000/s saw 239 such drops and a
 * login p99 over 1 s). Linux shows a listening socket's backlog as its Send-Q (`ss -ltn`).
 */
import { execFileSync } from 'child_process';
import { readFileSync } from 'fs';
import { IMTestingApp, startIMTestingApp } from '../../lib/testing';

/** The backlog of the TCP socket listening on `port`, as Linux reports it, or undefined off Linux. */
function listenBacklog(port: number): number | undefined {
  if (process.platform !== 'linux') return undefined;
  const line = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' }).trim().split('\n')[0];
  return Number(line.trim().split(/\s+/)[2]);
}

const somaxconn = () => Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
const onLinux = process.platform === 'linux' ? it : it.skip;

describe('listen backlog of the TCP listener and the WebSocket gateway', () => {
  let app: IMTestingApp | undefined;
  afterEach(() => app?.close());

  onLinux('both queue 4096 connections by default (capped by net.core.somaxconn)', async () => {
    app = await startIMTestingApp({ im: { udp: false } });
    const expected = Math.min(4096, somaxconn());
    expect(listenBacklog(app.ports.tcp as number)).toBe(expected);
    expect(listenBacklog(app.ports.ws as number)).toBe(expected);
  });

  onLinux('ws.backlog and tcp.backlog set them', async () => {
    app = await startIMTestingApp({ im: { udp: false, tcp: { backlog: 64 }, ws: { backlog: 128 } } });
    expect(listenBacklog(app.ports.tcp as number)).toBe(64);
    expect(listenBacklog(app.ports.ws as number)).toBe(128);
  });
});
