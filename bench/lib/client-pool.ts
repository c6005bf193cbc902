import { PacketType } from '../../lib/protocol/packet-type';
import { Histogram } from './histogram';
import { Endpoint, Link, openLink, Transport } from './links';
import { encode, keepaliveBody, loginAccepted, loginBody, packetType } from './wire';

/*
 * The bench's own client pool, not `nestjs-im/client`'s `IMClient`, on purpose:
 * thousands of clients whose per-packet cost must stay far below the server's
 * (no packet objects, no JSON.parse, no promises per message), so that the
 * figures measure the server. Packet types, framing and packet bytes come
 * from `lib/protocol`.
 */

/** Packet types the pool looks at itself (module constants: compared for every received packet). */
const { LOGIN_RESPONSE, KEEPALIVE_RESPONSE, ERROR, KICKOUT } = PacketType;
const DEFAULT_PORTS: [number, number] = [10_000, 31_999];
const PORT_ATTEMPTS = 100;

/** A logged-in bench client. */
export interface BenchClient {
  readonly index: number;
  readonly userId: string;
  readonly link: Link;
}

/** Receives every packet of a logged-in client, with its type already read. */
export type PacketHandler = (client: BenchClient, buf: Buffer, start: number, end: number, type: number) => void;

export interface PoolOptions {
  transport: Transport;
  endpoint: Endpoint;
  /** Where the client at this index connects instead (the cross-node scenario: receivers on another node). */
  endpointFor?: (index: number) => Endpoint | undefined;
  localAddress: string;
  /**
   * Local ports to bind, in turn (see `Source` in links.ts); taken ones are skipped.
   * Default 10000-31999: below the kernel's ephemeral range, so never in its way.
   */
  localPorts?: [number, number];
  /** Connections opened per second (Infinity: all at once, bounded by `maxPending`). */
  rate: number;
  /** Connections waiting for a login response at once. Default 1000. */
  maxPending?: number;
  /** Connect + login deadline per client. Default 15 s. */
  loginTimeoutMs?: number;
  token?: string;
}

/** Counters of what happened to the pool's clients. */
export interface PoolCounters {
  loginFailures: number;
  unexpectedCloses: number;
  keepaliveResponses: number;
  errors: number;
  kickouts: number;
}

/**
 * Opens many clients at a set rate, logs each in (measuring connect → login
 * response), keeps them alive with keepalives, and routes their packets to one handler.
 */
export class ClientPool {
  readonly clients: BenchClient[] = [];
  /** Clients by their position in the list given to `open`; holes where the login failed. */
  readonly byIndex: (BenchClient | undefined)[] = [];
  readonly loginLatency = new Histogram();
  readonly counters: PoolCounters = { loginFailures: 0, unexpectedCloses: 0, keepaliveResponses: 0, errors: 0, kickouts: 0 };
  /** The first few login failures and error packets, for the report. */
  readonly failureSamples: string[] = [];
  readonly errorSamples: string[] = [];
  private keepaliveTimer?: NodeJS.Timeout;
  private nextPort: number;
  private closing = false;

  constructor(
    private readonly options: PoolOptions,
    private readonly onPacket: PacketHandler = () => undefined,
  ) {
    // A random start keeps two pools on one source address (two bench runs at once) out of each other's way.
    const [first, last] = options.localPorts ?? DEFAULT_PORTS;
    this.nextPort = first + Math.floor(Math.random() * (last - first + 1));
  }

  /** Opens and logs in one client per user id; resolves when every attempt has succeeded or failed. */
  open(userIds: string[]): Promise<void> {
    const { rate, maxPending = 1000 } = this.options;
    return new Promise((resolve) => {
      if (userIds.length === 0) return resolve();
      const t0 = performance.now();
      let next = 0;
      let settled = 0;
      let pending = 0;
      const tick = () => {
        const due = rate === Infinity ? userIds.length : Math.floor(((performance.now() - t0) * rate) / 1000) + 1;
        while (next < Math.min(due, userIds.length) && pending < maxPending) {
          pending++;
          void this.openOne(userIds[next], next++).finally(() => {
            pending--;
            if (++settled === userIds.length) {
              clearInterval(timer);
              resolve();
            } else tick();
          });
        }
      };
      const timer = setInterval(tick, 5);
      tick();
    });
  }

  /** Sends each client a keepalive every `intervalMs`, spread evenly over the interval. */
  startKeepalive(intervalMs: number): void {
    const stepMs = 100;
    let cursor = 0;
    const perStep = () => Math.ceil((this.clients.length * stepMs) / intervalMs);
    this.keepaliveTimer = setInterval(() => {
      const n = this.clients.length;
      for (let k = perStep(); k > 0 && n > 0; k--) {
        const c = this.clients[cursor++ % n];
        c.link.write(encode(keepaliveBody(c.userId), c.link.framed));
      }
    }, stepMs);
  }

  /** Closes every client; later closes are not counted as unexpected. */
  closeAll(): void {
    this.closing = true;
    clearInterval(this.keepaliveTimer);
    for (const c of this.clients) c.link.close();
  }

  private takePort(): number {
    const [first, last] = this.options.localPorts ?? DEFAULT_PORTS;
    const port = this.nextPort;
    this.nextPort = port >= last ? first : port + 1;
    return port;
  }

  private fail(message: string): void {
    this.counters.loginFailures++;
    if (this.failureSamples.length < 5) this.failureSamples.push(message);
  }

  private async openOne(userId: string, index: number): Promise<void> {
    const { transport, endpoint, localAddress, loginTimeoutMs = 15_000, token = 'bench' } = this.options;
    const t0 = performance.now();
    let link: Link | undefined;
    for (let attempt = 1; !link; attempt++) {
      try {
        link = await openLink(transport, this.options.endpointFor?.(index) ?? endpoint, { address: localAddress, port: this.takePort() }, loginTimeoutMs);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < PORT_ATTEMPTS) continue;
        this.fail(`${userId}: ${(err as Error).message}`);
        return;
      }
    }
    const opened = link;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.fail(`${userId}: no login response within ${loginTimeoutMs} ms`);
        opened.close();
        resolve();
      }, Math.max(1, loginTimeoutMs - (performance.now() - t0)));
      opened.onClose = () => {
        clearTimeout(timer);
        this.fail(`${userId}: closed before the login response`);
        resolve();
      };
      opened.onBody = (buf, start, end) => {
        if (packetType(buf, start, end) !== LOGIN_RESPONSE) return;
        clearTimeout(timer);
        if (!loginAccepted(buf, start, end)) {
          this.fail(`${userId}: login refused`);
          opened.close();
          return resolve();
        }
        this.loginLatency.record((performance.now() - t0) * 1000);
        this.adopt({ index, userId, link: opened });
        resolve();
      };
      opened.write(encode(loginBody(userId, token), opened.framed));
    });
  }

  private adopt(client: BenchClient): void {
    this.clients.push(client);
    this.byIndex[client.index] = client;
    const { link } = client;
    link.onClose = () => {
      if (!this.closing) this.counters.unexpectedCloses++;
    };
    link.onBody = (buf, start, end) => {
      const type = packetType(buf, start, end);
      if (type === KEEPALIVE_RESPONSE) this.counters.keepaliveResponses++;
      else if (type === ERROR) {
        if (this.counters.errors++ < 3) this.errorSamples.push(buf.toString('utf8', start, end));
      }
      else if (type === KICKOUT) this.counters.kickouts++;
      else this.onPacket(client, buf, start, end, type);
    };
  }
}
