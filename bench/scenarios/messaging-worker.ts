import { PacketType, SERVER_USER_ID } from '../../lib/protocol/packet-type';
import { BenchClient, ClientPool } from '../lib/client-pool';
import { Histogram, HistogramData } from '../lib/histogram';
import { Endpoint, Transport } from '../lib/links';
import { WorkerChannel } from '../lib/worker-io';
import { AckPacket, dataContentValue, FP_BYTES, fpHasPrefix, fpSeq, fpValue, SeqPacket } from '../lib/wire';
import { ACKED, GAVE_UP, ONE_TRY, Stream } from './message-stream';

const { DATA, ACK, ECHO, ECHO_RESPONSE } = PacketType;

/** Message scenarios: client to client, client to server, echo. */
export type MessagingKind = 'c2c' | 'c2s' | 'echo';

export interface MessagingWorkerConfig {
  kind: MessagingKind;
  transport: Transport;
  endpoint: Endpoint;
  /** C2C: receivers connect here (another cluster node) instead of `endpoint`. */
  receiverEndpoint?: Endpoint;
  localAddress: string;
  /** Senders (c2c: pairs) in this worker. */
  senders: number;
  /** Un-ACKed messages in flight per sender. */
  window: number;
  bodyBytes: number;
  warmupMs: number;
  durationMs: number;
  /** After the measured period: how long to wait for the last ACKs and deliveries. */
  graceMs: number;
  /** Resend a message not ACKed after this long (the SDKs: about 3 s). */
  resendMs: number;
  /** Messages each sender sends in all (a client flushing its queue after a reconnect); 0: no limit. */
  messages: number;
  /** Resends before a message is given up and its window slot freed (the SDKs: 2). */
  maxResends: number;
  userPrefix: string;
  keepaliveMs: number;
}

export interface MessagingWorkerResult {
  loggedIn: number;
  loginFailures: number;
  failureSamples: string[];
  errorSamples: string[];
  errors: number;
  unexpectedCloses: number;
  sent: number;
  acked: number;
  /** ACKs (c2c, c2s) or echo replies received in the measured period. */
  measuredAcks: number;
  /** C2C messages received by their receivers in the measured period. */
  measuredDelivered: number;
  measuredMs: number;
  uniqueReceived: number;
  dups: number;
  dupAcks: number;
  resends: number;
  gaveUp: number;
  ack: HistogramData;
  e2e: HistogramData;
  /** The worker's own CPU time in the measured period. */
  cpuUs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Client side of c2c / c2s / echo: windows of QoS messages, receivers ACKing as the SDKs do. */
export async function messagingWorker(channel: WorkerChannel, cfg: MessagingWorkerConfig): Promise<void> {
  const c2c = cfg.kind === 'c2c';
  const users: string[] = [];
  for (let i = 0; i < cfg.senders; i++) {
    users.push(`${cfg.userPrefix}s${i}`);
    if (c2c) users.push(`${cfg.userPrefix}r${i}`);
  }
  const streamOf: (Stream | undefined)[] = [];
  const ackHist = new Histogram();
  const e2eHist = new Histogram();
  let running = false;
  let measuring = false;
  const n = { sent: 0, acked: 0, measuredAcks: 0, measuredDelivered: 0, uniqueReceived: 0, dups: 0, dupAcks: 0, resends: 0, gaveUp: 0 };

  const send = (st: Stream) => {
    const seq = st.seq++;
    const now = performance.now();
    st.firstSent[seq & st.mask] = now;
    st.lastSent[seq & st.mask] = now;
    st.inflight++;
    n.sent++;
    st.sender.link.write(st.packet.make(seq));
  };
  const fill = (st: Stream) => {
    while (running && st.inflight < cfg.window && (cfg.messages === 0 || st.seq < cfg.messages)) send(st);
  };

  const onAck = (st: Stream, buf: Buffer, at: number) => {
    if (at < 0 || !fpHasPrefix(buf, at, st.packet.prefix)) return;
    const seq = fpSeq(buf, at);
    if (seq >= st.seq) return;
    const s = st.state.get(seq);
    if (s & ACKED) {
      n.dupAcks++;
      return;
    }
    st.state.set(seq, s | ACKED);
    n.acked++;
    if (!(s & GAVE_UP)) st.inflight--;
    if (measuring) {
      n.measuredAcks++;
      ackHist.record((performance.now() - st.firstSent[seq & st.mask]) * 1000);
    }
    fill(st);
  };

  const onData = (st: Stream, buf: Buffer, start: number, end: number) => {
    const at = fpValue(buf, start, end);
    if (at < 0 || !fpHasPrefix(buf, at, st.packet.prefix)) return;
    (st.receiver as BenchClient).link.write((st.ack as AckPacket).make(buf, at, at + FP_BYTES));
    const seq = fpSeq(buf, at);
    if (st.received.get(seq)) {
      n.dups++;
      return;
    }
    st.received.set(seq, 1);
    n.uniqueReceived++;
    if (measuring) {
      n.measuredDelivered++;
      e2eHist.record((performance.now() - st.firstSent[seq & st.mask]) * 1000);
    }
  };

  const replyType = cfg.kind === 'echo' ? ECHO_RESPONSE : ACK;
  const pool = new ClientPool(
    {
      transport: cfg.transport,
      endpoint: cfg.endpoint,
      // Users alternate sender, receiver: odd indices are receivers.
      endpointFor: c2c && cfg.receiverEndpoint ? (i) => (i % 2 ? cfg.receiverEndpoint : undefined) : undefined,
      localAddress: cfg.localAddress,
      rate: Infinity,
      maxPending: 200,
    },
    (client, buf, start, end, type) => {
      const st = streamOf[client.index];
      if (!st) return;
      if (client === st.receiver) {
        if (type === DATA) onData(st, buf, start, end);
      } else if (type === replyType) {
        onAck(st, buf, type === ACK ? dataContentValue(buf, start, end) : fpValue(buf, start, end));
      }
    },
  );
  await pool.open(users);

  const body = 'abcdefghijklmnopqrstuvwxyz'.repeat(Math.ceil(cfg.bodyBytes / 26)).slice(0, cfg.bodyBytes);
  const streams: Stream[] = [];
  for (let i = 0; i < cfg.senders; i++) {
    const sIdx = c2c ? 2 * i : i;
    const sender = pool.byIndex[sIdx];
    const receiver = c2c ? pool.byIndex[sIdx + 1] : undefined;
    if (!sender || (c2c && !receiver)) continue;
    const framed = sender.link.framed;
    const packet =
      cfg.kind === 'c2c'
        ? new SeqPacket({ type: DATA, dataContent: body, from: sender.userId, to: (receiver as BenchClient).userId, qos: true }, framed)
        : cfg.kind === 'c2s'
          ? new SeqPacket({ type: DATA, dataContent: body, from: sender.userId, to: SERVER_USER_ID, qos: true }, framed)
          : new SeqPacket({ type: ECHO, dataContent: body, from: sender.userId, to: SERVER_USER_ID, qos: false }, framed);
    const ack = receiver ? new AckPacket(receiver.userId, sender.userId, receiver.link.framed) : undefined;
    const st = new Stream(cfg.window, sender, packet, receiver, ack);
    streams.push(st);
    streamOf[sIdx] = st;
    if (receiver) streamOf[sIdx + 1] = st;
  }
  pool.startKeepalive(cfg.keepaliveMs);
  await channel.send('ready', { loggedIn: pool.clients.length, streams: streams.length });
  await channel.next('go');

  // Resend what is not ACKed in time, as the SDKs do; give up after maxResends and free the slot.
  const resender = setInterval(() => {
    const now = performance.now();
    for (const st of streams) {
      for (let seq = st.lowest; seq < st.seq; seq++) {
        const s = st.state.get(seq);
        if (s & (ACKED | GAVE_UP)) {
          if (seq === st.lowest) st.lowest++;
          continue;
        }
        if (now - st.lastSent[seq & st.mask] < cfg.resendMs) continue;
        if (s >> 2 < cfg.maxResends) {
          st.state.set(seq, s + ONE_TRY);
          st.lastSent[seq & st.mask] = now;
          n.resends++;
          st.sender.link.write(st.packet.make(seq));
        } else {
          st.state.set(seq, s | GAVE_UP);
          st.inflight--;
          n.gaveUp++;
          fill(st);
        }
      }
    }
  }, 250);

  running = true;
  for (const st of streams) fill(st);
  await sleep(cfg.warmupMs);
  measuring = true;
  const cpu0 = process.cpuUsage();
  const m0 = performance.now();
  await sleep(cfg.durationMs);
  measuring = false;
  running = false;
  const measuredMs = performance.now() - m0;
  const cpu = process.cpuUsage(cpu0);

  const drained = () => streams.every((st) => st.inflight === 0) && (!c2c || n.uniqueReceived >= n.sent);
  const deadline = performance.now() + cfg.graceMs;
  while (!drained() && performance.now() < deadline) await sleep(50);
  clearInterval(resender);

  const result: MessagingWorkerResult = {
    loggedIn: pool.clients.length,
    loginFailures: pool.counters.loginFailures,
    failureSamples: pool.failureSamples,
    errorSamples: pool.errorSamples,
    errors: pool.counters.errors,
    unexpectedCloses: pool.counters.unexpectedCloses,
    ...n,
    measuredMs,
    ack: ackHist.toJSON(),
    e2e: e2eHist.toJSON(),
    cpuUs: cpu.user + cpu.system,
  };
  pool.closeAll();
  await channel.send('result', result);
}
