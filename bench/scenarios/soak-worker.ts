/**
 * The soak scenario's client side. It uses the library's own client
 * (`lib/client`), not the bench's byte-level links: the soak measures
 * correctness over time (every message the server ACKed reaches its
 * recipient's application, across link drops and re-logins), and the client's
 * QoS, deduplication and auto re-login are what a real application runs.
 */
import { AutoReconnect, IMClient, IMLink, LinkCloseInfo, TcpLink, WsLink } from '../../lib/client';
import { WorkerChannel } from '../lib/worker-io';

export interface SoakConfig {
  /** Sender/receiver pairs held by this worker (both ends of a pair are here, so losses are counted locally). */
  pairs: number;
  userPrefix: string;
  tcp: { host: string; port: number };
  ws: { host: string; port: number; wsPath: string };
  /** Messages per second per sender. */
  rate: number;
  /**
   * One random client of this worker loses its network every `dropEveryMs`: nothing in or out for a while
   * (the server still sees an open connection and writes into it), then the link closes and the client logs in again.
   */
  dropEveryMs: number;
  /** How long the network stays silent, at most (drawn per drop, so some outlast the server's QoS retransmissions). */
  maxDownMs: number;
  /** After `stop`: how long to wait for every send to settle and every ACKed message to arrive. */
  settleMs: number;
}

export interface SoakResult {
  loggedIn: number;
  sent: number;
  /** Sends whose outcome was `delivered` (the server ACKed them). */
  acked: number;
  /** Other outcomes, by name (lost, refused, undeliverable), and sends that threw (link down). */
  outcomes: Record<string, number>;
  /** ACKed messages the recipient's application never got. */
  lostAcked: number;
  lostSamples: string[];
  /** Messages the recipient's application got more than once. */
  dups: number;
  drops: number;
  reconnects: number;
  /** Sends still unsettled when the settle time ran out. */
  unsettled: number;
}

/**
 * A link whose network can go silent, as a mobile network does in a tunnel:
 * packets in both directions vanish while the socket stays open, so the
 * server's writes succeed and only QoS can notice; then the socket closes.
 */
class FlakyLink implements IMLink {
  readonly kind: IMLink['kind'];
  onPacket?: (text: string) => void;
  onClose?: (info: LinkCloseInfo) => void;
  /** True while the network is silent. */
  silent = false;

  constructor(private readonly inner: IMLink) {
    this.kind = inner.kind;
    inner.onPacket = (text) => {
      if (!this.silent) this.onPacket?.(text);
    };
    inner.onClose = (info) => this.onClose?.(info);
  }

  get isOpen(): boolean {
    return this.inner.isOpen;
  }

  open(): Promise<void> {
    return this.inner.open();
  }

  send(body: string): void {
    if (!this.silent) this.inner.send(body);
  }

  close(): void {
    this.inner.close();
  }

  /** Nothing in or out for `ms`, then the link closes (the client sees a lost link and logs in again). */
  goSilent(ms: number): void {
    this.silent = true;
    setTimeout(() => this.inner.close(), ms);
  }
}

interface Pair {
  sender: IMClient;
  receiver: IMClient;
  senderId: string;
  receiverId: string;
  seq: number;
  acked: Set<number>;
  received: Set<number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function soakWorker(channel: WorkerChannel, cfg: SoakConfig): Promise<void> {
  const result: SoakResult = { loggedIn: 0, sent: 0, acked: 0, outcomes: {}, lostAcked: 0, lostSamples: [], dups: 0, drops: 0, reconnects: 0, unsettled: 0 };
  const count = (outcome: string): void => void (result.outcomes[outcome] = (result.outcomes[outcome] ?? 0) + 1);
  const reconnectors: AutoReconnect[] = [];
  const clients: IMClient[] = [];

  const open = async (userId: string, transport: 'tcp' | 'ws'): Promise<IMClient> => {
    const link = (): IMLink => new FlakyLink(transport === 'tcp' ? new TcpLink(cfg.tcp) : new WsLink({ host: cfg.ws.host, port: cfg.ws.port, path: cfg.ws.wsPath }));
    const client = new IMClient(link, { senseMode: '5S' });
    await client.connect();
    const { code } = await client.login({ userId, token: 'x' });
    if (code !== 0) throw new Error(`login of ${userId} answered ${code}`);
    result.loggedIn++;
    const reconnect = new AutoReconnect(client, { userId, token: 'x' }, { initialDelayMs: 100, maxDelayMs: 2000 });
    reconnect.on('reconnected', () => result.reconnects++);
    reconnectors.push(reconnect);
    clients.push(client);
    return client;
  };

  const pairs: Pair[] = [];
  for (let i = 0; i < cfg.pairs; i++) {
    const transport = i % 2 === 0 ? 'tcp' : 'ws';
    const senderId = `${cfg.userPrefix}${i}s`;
    const receiverId = `${cfg.userPrefix}${i}r`;
    const pair: Pair = { sender: await open(senderId, transport), receiver: await open(receiverId, transport === 'tcp' ? 'ws' : 'tcp'), senderId, receiverId, seq: 0, acked: new Set(), received: new Set() };
    pair.receiver.on('message', (p) => {
      if (p.from !== senderId) return;
      const seq = Number(p.dataContent);
      if (pair.received.has(seq)) result.dups++;
      else pair.received.add(seq);
    });
    pairs.push(pair);
  }
  await channel.send('ready', { loggedIn: result.loggedIn });
  await channel.next('go');

  let running = true;
  const pending = new Set<Promise<void>>();
  const send = (pair: Pair) => {
    if (!pair.sender.isLoggedIn) return;
    const seq = pair.seq++;
    result.sent++;
    const p = pair.sender
      .sendC2C(pair.receiverId, String(seq))
      .then(
        (outcome) => {
          if (outcome === 'delivered') {
            result.acked++;
            pair.acked.add(seq);
          } else count(outcome);
        },
        (err: Error) => count(`threw: ${err.message.slice(0, 40)}`),
      )
      .finally(() => pending.delete(p));
    pending.add(p);
  };
  const senders = setInterval(() => {
    for (const pair of pairs) send(pair);
  }, 1000 / cfg.rate);
  // A network that goes silent, then a lost link without a logout: the client's AutoReconnect logs in again.
  const dropper = setInterval(() => {
    const victim = clients[Math.floor(Math.random() * clients.length)];
    if (victim.isLoggedIn && victim.link instanceof FlakyLink && !victim.link.silent) {
      victim.link.goSilent(Math.random() * cfg.maxDownMs);
      result.drops++;
    }
  }, cfg.dropEveryMs);

  await channel.next('stop');
  running = false;
  clearInterval(senders);
  clearInterval(dropper);
  // Bounded: every send settles (delivered, or the client's QoS gives up after ~15 s) and every ACKed message arrives.
  const deadline = performance.now() + cfg.settleMs;
  const missing = () => pairs.reduce((n, pair) => n + [...pair.acked].filter((s) => !pair.received.has(s)).length, 0);
  while (performance.now() < deadline && (pending.size > 0 || missing() > 0 || clients.some((c) => !c.isLoggedIn))) await sleep(100);
  result.unsettled = pending.size;
  for (const pair of pairs) {
    for (const seq of pair.acked) {
      if (pair.received.has(seq)) continue;
      result.lostAcked++;
      if (result.lostSamples.length < 5) result.lostSamples.push(`${pair.senderId}→${pair.receiverId} #${seq}`);
    }
  }
  await channel.send('settled', { running });
  await channel.next('finish');
  for (const r of reconnectors) r.stop();
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await channel.send('result', result);
}
