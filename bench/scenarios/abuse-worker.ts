import { randomBytes } from 'crypto';
import { PacketType } from '../../lib/protocol/packet-type';
import { ClientPool } from '../lib/client-pool';
import { Histogram, HistogramData } from '../lib/histogram';
import { Endpoint, Link, openLink, Source, Transport } from '../lib/links';
import { WorkerChannel } from '../lib/worker-io';
import { AckPacket, dataContentValue, encode, fpHasPrefix, fpSeq, fpValue, FP_BYTES, loginAccepted, loginBody, packetType, SeqPacket } from '../lib/wire';
import { SeqBytes } from './message-stream';

/**
 * Client side of the abuse scenario (issue 8, rows 1-3), one role per worker:
 * the canary pair whose latency is the measurement, the fingerprint flood
 * (rows 1 and 2), and anonymous connections that only echo (row 3).
 */
export type AbuseWorkerConfig = CanaryConfig | FloodConfig | AnonConfig;

/** A command from the orchestrator: start a named phase (the canary keeps a histogram per phase), report, or stop. */
export interface AbuseCommand {
  op: 'phase' | 'report' | 'stop';
  name?: string;
}

const { LOGIN_RESPONSE, ACK, DATA, ECHO_RESPONSE, ERROR } = PacketType;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Connects and logs in one user; resolves the link, or null when refused, closed or too slow. */
export function connectAndLogin(transport: Transport, endpoint: Endpoint, from: Source, userId: string, timeoutMs: number): Promise<{ link: Link | null; ms: number; error?: string }> {
  const t0 = performance.now();
  const done = (link: Link | null, error?: string) => ({ link, ms: performance.now() - t0, error });
  return openLink(transport, endpoint, from, timeoutMs).then(
    (link) =>
      new Promise((resolve) => {
        const timer = setTimeout(() => {
          link.close();
          resolve(done(null, `no login response within ${timeoutMs} ms`));
        }, Math.max(1, timeoutMs - (performance.now() - t0)));
        link.onClose = () => {
          clearTimeout(timer);
          resolve(done(null, 'closed before the login response'));
        };
        link.onBody = (buf, start, end) => {
          if (packetType(buf, start, end) !== LOGIN_RESPONSE) return;
          clearTimeout(timer);
          link.onClose = () => undefined;
          if (loginAccepted(buf, start, end)) return resolve(done(link));
          link.close();
          resolve(done(null, 'login refused'));
        };
        link.write(encode(loginBody(userId, 'bench'), link.framed));
      }),
    (err: Error) => done(null, err.message),
  );
}

// ---------------------------------------------------------------- canary

export interface CanaryConfig {
  role: 'canary';
  endpoint: Endpoint;
  localAddress: string;
  userPrefix: string;
  /** Messages per second, one in flight at a time (W=1). */
  rate: number;
  resendMs: number;
  maxResends: number;
}

/** The canary's ACK RTT during one phase. */
export interface CanaryPhase {
  name: string;
  ack: HistogramData;
  sent: number;
}

export interface CanaryResult {
  loggedIn: number;
  loginFailures: string[];
  phases: CanaryPhase[];
  sent: number;
  acked: number;
  uniqueReceived: number;
  dups: number;
  resends: number;
  gaveUp: number;
  errors: number;
  errorSamples: string[];
  unexpectedCloses: number;
}

/** One sender and one receiver, QoS C2C over TCP at a fixed rate with W=1; ACK RTT by phase. */
async function canary(channel: WorkerChannel, cfg: CanaryConfig): Promise<void> {
  const received = new SeqBytes();
  const n = { sent: 0, acked: 0, uniqueReceived: 0, dups: 0, resends: 0, gaveUp: 0 };
  let inflight: { seq: number; first: number; last: number; tries: number } | null = null;
  let seq = 0;
  let packet: SeqPacket | undefined;
  let ack: AckPacket | undefined;
  const phases: (CanaryPhase & { hist: Histogram })[] = [];
  const newPhase = (name: string) => phases.push({ name, ack: { buckets: [], count: 0, max: 0, min: 0 }, sent: 0, hist: new Histogram() });
  newPhase('setup');
  const phase = () => phases[phases.length - 1];

  const pool = new ClientPool({ transport: 'tcp', endpoint: cfg.endpoint, localAddress: cfg.localAddress, rate: Infinity }, (client, buf, start, end, type) => {
    if (!packet) return;
    if (client.index === 0 && type === ACK) {
      const at = dataContentValue(buf, start, end);
      if (at < 0 || !fpHasPrefix(buf, at, packet.prefix) || !inflight || fpSeq(buf, at) !== inflight.seq) return;
      phase().hist.record((performance.now() - inflight.first) * 1000);
      n.acked++;
      inflight = null;
    } else if (client.index === 1 && type === DATA) {
      const at = fpValue(buf, start, end);
      if (at < 0 || !fpHasPrefix(buf, at, packet.prefix)) return;
      client.link.write((ack as AckPacket).make(buf, at, at + FP_BYTES));
      const s = fpSeq(buf, at);
      if (received.get(s)) n.dups++;
      else {
        received.set(s, 1);
        n.uniqueReceived++;
      }
    }
  });
  const sender = `${cfg.userPrefix}s`;
  const receiver = `${cfg.userPrefix}r`;
  await pool.open([sender, receiver]);
  const [s, r] = [pool.byIndex[0], pool.byIndex[1]];
  if (s && r) {
    packet = new SeqPacket({ type: DATA, dataContent: 'canary '.repeat(14), from: sender, to: receiver, qos: true }, true);
    ack = new AckPacket(receiver, sender, true);
  }
  pool.startKeepalive(5000);

  // W=1 at `rate`: a message leaves at each slot when the previous one is ACKed; resent like the SDKs do.
  const timer = setInterval(() => {
    if (!s || !packet) return;
    const now = performance.now();
    if (inflight) {
      if (now - inflight.last < cfg.resendMs) return;
      if (inflight.tries < cfg.maxResends) {
        inflight.tries++;
        inflight.last = now;
        n.resends++;
        s.link.write(packet.make(inflight.seq));
        return;
      }
      n.gaveUp++;
      inflight = null;
    }
    inflight = { seq, first: now, last: now, tries: 0 };
    n.sent++;
    phase().sent++;
    s.link.write(packet.make(seq++));
  }, 1000 / cfg.rate);

  await channel.send('ready', { loggedIn: pool.clients.length });
  for (;;) {
    const cmd = await channel.next<AbuseCommand>('cmd');
    if (cmd.op === 'phase') newPhase(cmd.name ?? `phase${phases.length}`);
    else if (cmd.op === 'stop') break;
  }
  clearInterval(timer);
  // The last message gets its ACK or is given up.
  const deadline = performance.now() + cfg.resendMs * (cfg.maxResends + 1);
  while (inflight && performance.now() < deadline) await sleep(20);
  const result: CanaryResult = {
    loggedIn: pool.clients.length,
    loginFailures: pool.failureSamples,
    phases: phases.map(({ hist, ...p }) => ({ ...p, ack: hist.toJSON() })),
    ...n,
    errors: pool.counters.errors,
    errorSamples: pool.errorSamples,
    unexpectedCloses: pool.counters.unexpectedCloses,
  };
  pool.closeAll();
  await channel.send('result', result);
}

// ---------------------------------------------------------------- fingerprint flood (rows 1, 2)

export interface FloodConfig {
  role: 'flood';
  /** WebSocket: its 64 KiB messages carry fingerprints that a TCP frame (6 KiB) cannot. */
  endpoint: Endpoint;
  localAddress: string;
  userPrefix: string;
  accounts: number;
  /** QoS C2S packets per second per account. */
  rate: number;
  /** Fingerprint length in characters, drawn uniformly from [fpMin, fpMax] (equal: one length). */
  fpMin: number;
  fpMax: number;
  /** Skip a send while this much is still queued on the link: the generator must not just fill its own memory. */
  maxBufferedBytes: number;
}

export interface FloodResult {
  loggedIn: number;
  loginFailures: string[];
  sent: number;
  sentBytes: number;
  /** Sends skipped: the link was down, or its buffer full (the server was not reading). */
  skipped: number;
  acks: number;
  errors: number;
  errorSamples: string[];
  /** Connections the server closed; the worker logs in again, as an attacker would. */
  closes: number;
  relogins: number;
}

/** Accounts that send QoS C2S packets with huge, unique fingerprints at a steady rate, logging in again when dropped. */
async function flood(channel: WorkerChannel, cfg: FloodConfig): Promise<void> {
  // One random alphabet string; each fingerprint is a slice of it plus a unique tag, so no two are equal.
  const alphabet = randomBytes(cfg.fpMax).toString('base64').slice(0, cfg.fpMax);
  const r: FloodResult = { loggedIn: 0, loginFailures: [], sent: 0, sentBytes: 0, skipped: 0, acks: 0, errors: 0, errorSamples: [], closes: 0, relogins: 0 };
  const links: (Link | null)[] = [];
  let running = true;
  let counter = 0;

  const attach = (i: number, link: Link) => {
    links[i] = link;
    link.onBody = (buf, start, end) => {
      const type = packetType(buf, start, end);
      if (type === ACK) r.acks++;
      else if (type === ERROR && r.errors++ < 3) r.errorSamples.push(buf.toString('utf8', start, Math.min(end, start + 300)));
    };
    link.onClose = () => {
      links[i] = null;
      if (!running) return;
      r.closes++;
      // Back in a second: a bounded reconnect rate, but the attack goes on.
      setTimeout(() => void login(i, true), 1000);
    };
  };
  const login = async (i: number, again: boolean) => {
    if (!running) return;
    const { link, error } = await connectAndLogin('ws', cfg.endpoint, { address: cfg.localAddress }, `${cfg.userPrefix}${i}`, 10_000);
    if (!link) {
      if (r.loginFailures.length < 5) r.loginFailures.push(`${cfg.userPrefix}${i}: ${error}`);
      if (running) setTimeout(() => void login(i, true), 1000);
      return;
    }
    if (!running) return link.close();
    if (again) r.relogins++;
    else r.loggedIn++;
    attach(i, link);
  };
  await Promise.all(Array.from({ length: cfg.accounts }, (_, i) => login(i, false)));
  await channel.send('ready', { loggedIn: r.loggedIn });

  const t0 = performance.now();
  const due = new Array<number>(cfg.accounts).fill(0);
  const timer = setInterval(() => {
    const target = Math.floor(((performance.now() - t0) * cfg.rate) / 1000);
    for (let i = 0; i < cfg.accounts; i++) {
      const link = links[i];
      // Read once per tick, before this tick's writes: they sit in the corked socket until the next tick.
      const stalled = !link || link.bufferedBytes > cfg.maxBufferedBytes;
      for (; due[i] < target; due[i]++) {
        if (stalled) {
          r.skipped++;
          continue;
        }
        const userId = `${cfg.userPrefix}${i}`;
        const tag = `${process.pid}-${counter++}-`;
        const len = cfg.fpMin + Math.floor(Math.random() * (cfg.fpMax - cfg.fpMin + 1));
        // Unique at the end: equal-length strings that V8 hashes alike are compared up to their last characters.
        const fp = alphabet.slice(0, len - tag.length) + tag;
        const body = `{"bridge":false,"type":2,"dataContent":"x","from":"${userId}","to":"0","fp":"${fp}","QoS":true,"typeu":-1,"sm":-1}`;
        (link as Link).write(Buffer.from(body, 'latin1'));
        r.sent++;
        r.sentBytes += body.length;
      }
    }
  }, 10);

  await channel.next<AbuseCommand>('cmd');
  running = false;
  clearInterval(timer);
  for (const link of links) link?.close();
  await channel.send('result', r);
}

// ---------------------------------------------------------------- anonymous connections (row 3)

export interface AnonConfig {
  role: 'anon';
  endpoint: Endpoint;
  localAddress: string;
  /** Connections to hold open at once; closed ones are replaced, within `rate`. */
  count: number;
  /** Connection attempts per second from this worker. */
  rate: number;
  /** Each connection sends an echo this often, never a login. */
  echoEveryMs: number;
}

export interface AnonReport {
  /** Open now, from this worker's side. */
  open: number;
  maxOpen: number;
  attempts: number;
  connectFailures: number;
  failureSamples: string[];
  /** Connections the server closed. */
  closedByServer: number;
  echoReplies: number;
  errorPackets: number;
}

const ECHO_BODY = encode('{"bridge":false,"type":5,"dataContent":"ping","from":"anon","to":"0","QoS":false,"typeu":-1,"sm":-1}', true);
const PORTS: [number, number] = [10_000, 31_999];

/** Connections that never log in and echo every few seconds, held at `count`, replaced when the server closes them. */
async function anon(channel: WorkerChannel, cfg: AnonConfig): Promise<void> {
  const open = new Set<Link>();
  const r: AnonReport = { open: 0, maxOpen: 0, attempts: 0, connectFailures: 0, failureSamples: [], closedByServer: 0, echoReplies: 0, errorPackets: 0 };
  let running = true;
  let pending = 0;
  let nextPort = PORTS[0] + Math.floor(Math.random() * (PORTS[1] - PORTS[0] + 1));
  const takePort = () => {
    const p = nextPort;
    nextPort = p >= PORTS[1] ? PORTS[0] : p + 1;
    return p;
  };

  const openOne = async () => {
    pending++;
    r.attempts++;
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          const link = await openLink('tcp', cfg.endpoint, { address: cfg.localAddress, port: takePort() }, 10_000);
          if (!running) return link.close();
          open.add(link);
          r.maxOpen = Math.max(r.maxOpen, open.size);
          link.onBody = (buf, start, end) => {
            const type = packetType(buf, start, end);
            if (type === ECHO_RESPONSE) r.echoReplies++;
            else if (type === ERROR) r.errorPackets++;
          };
          link.onClose = () => {
            if (!open.delete(link) || !running) return;
            r.closedByServer++;
          };
          link.write(ECHO_BODY);
          return;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 100) continue;
          r.connectFailures++;
          if (r.failureSamples.length < 5) r.failureSamples.push((err as Error).message);
          return;
        }
      }
    } finally {
      pending--;
    }
  };

  // Opens at `rate`, up to `count` open or connecting; replacements for closed links count against the same rate.
  const t0 = performance.now();
  const opener = setInterval(() => {
    const allowed = Math.floor(((performance.now() - t0) * cfg.rate) / 1000) - r.attempts;
    for (let k = 0; k < allowed && open.size + pending < cfg.count && pending < 1000; k++) void openOne();
  }, 5);

  // Echoes spread evenly over the interval, as the pool spreads keepalives.
  const stepMs = 100;
  let cursor = 0;
  const echoer = setInterval(() => {
    const links = [...open];
    const perStep = Math.ceil((links.length * stepMs) / cfg.echoEveryMs);
    for (let k = 0; k < perStep && links.length > 0; k++) links[cursor++ % links.length].write(ECHO_BODY);
  }, stepMs);

  for (;;) {
    const cmd = await channel.next<AbuseCommand>('cmd');
    r.open = open.size;
    if (cmd.op === 'report') await channel.send('report', { ...r });
    if (cmd.op === 'stop') break;
  }
  running = false;
  clearInterval(opener);
  clearInterval(echoer);
  for (const link of open) link.close();
  await channel.send('result', { ...r });
}

/** Runs this worker's role until the orchestrator says stop. */
export function abuseWorker(channel: WorkerChannel, cfg: AbuseWorkerConfig): Promise<void> {
  if (cfg.role === 'canary') return canary(channel, cfg);
  if (cfg.role === 'flood') return flood(channel, cfg);
  return anon(channel, cfg);
}
