import type { SecureContextOptions } from 'tls';
import { BridgeOptions, ResolvedBridgeOptions } from './bridge/bridge-options';
import { ClusterOptions } from './cluster/cluster-options';
import { Clock } from './core/clock';
import { SenseMode } from './protocol/sense-mode';
import { IMMetricsOptions } from './metrics/metrics-options';
import type { IMMessageStore } from './store/message-store';
import type { RedisMessageStoreOptions } from './store/redis-message-store';

/** TCP transport options. */
export interface TcpTransportOptions {
  /** Port to listen on; 0 picks a free port. Default 8901. */
  port?: number;
  /** Address to bind; default all interfaces. */
  host?: string;
  /** Keepalive mode the clients use; sets the idle timeout. Default `DEFAULT` (20 s). */
  senseMode?: SenseMode;
  /** Idle timeout in ms; overrides `senseMode`. */
  idleTimeoutMs?: number;
  /** Largest inbound frame body in bytes; a larger header closes at once. Default 6144. */
  maxFrameBytes?: number;
  /** Largest routed data packet body sent to a TCP client. Default: `maxFrameBytes` (the SDKs' limit). */
  maxOutboundBytes?: number;
  /** Concurrent connections accepted; further ones are closed. Default 50,000. */
  maxConnections?: number;
  /** Listen backlog. Default 4096 as in the reference. */
  backlog?: number;
  /** TLS; off by default. */
  tls?: SecureContextOptions;
  /** Time a TLS client may take to complete its handshake. Default 10,000 ms. */
  handshakeTimeoutMs?: number;
  /** Time a closing connection may take to flush before it is destroyed. Default 5000 ms. */
  closeTimeoutMs?: number;
  /**
   * Bytes a client may leave unread (the socket's `writableLength`); past it the
   * session is closed as a slow consumer and its unACKed QoS packets are reported. Default 1 MiB.
   */
  maxBufferedBytes?: number;
}

/** UDP transport options. */
export interface UdpTransportOptions {
  /** Port to listen on; 0 picks a free port. Default 7901. */
  port?: number;
  /** Address to bind; default `0.0.0.0` (or `::` with `ipv6`). */
  host?: string;
  /** Bind an IPv6 socket (dual-stack where the OS allows). Default false. */
  ipv6?: boolean;
  /** UDP keepalive mode; sets the idle timeout. Default `DEFAULT` (10 s). */
  senseMode?: SenseMode;
  /** Idle timeout in ms; overrides `senseMode`. */
  idleTimeoutMs?: number;
  /** Largest inbound datagram; a longer one is dropped. Default 2048 (the reference's buffer). */
  maxDatagramBytes?: number;
  /** Largest routed data packet sent to a UDP client. Default 1024 (Java/Android UDP SDK buffer). */
  maxOutboundBytes?: number;
  /** Concurrent UDP sessions (peer addresses). Default 50,000. */
  maxSessions?: number;
  /**
   * Socket receive buffer asked of the OS (capped by net.core.rmem_max). Default
   * 4 MiB: a burst that overflows the buffer is lost and retransmitted by the clients.
   */
  recvBufferBytes?: number;
  /**
   * Largest reply to a peer that has never logged in, as a multiple of the size of
   * the datagram it answers: UDP source addresses can be forged, so anything larger
   * would make the server an amplifier. A 301 that does not fit drops its quoted
   * packet, then is not sent. Default 1.
   */
  maxReplyRatio?: number;
}

/** WebSocket gateway options. */
export interface WsGatewayOptions {
  /**
   * Port to listen on; 0 picks a free port. Default 3000.
   * `'http'` shares the Nest application's HTTP server instead.
   */
  port?: number | 'http';
  /** Address to bind (own port only). */
  host?: string;
  /** Request path; any query string is accepted. Default `/websocket`. */
  path?: string;
  /** Keepalive mode the clients use. Default `DEFAULT` (20 s). */
  senseMode?: SenseMode;
  /** Idle timeout in ms; overrides `senseMode`. */
  idleTimeoutMs?: number;
  /** Largest message payload; larger closes with 1009. Default 65536. */
  maxPayloadBytes?: number;
  /** Largest routed data packet sent to a WebSocket client. Default 65536. */
  maxOutboundBytes?: number;
  /** Concurrent connections. Default 50,000. */
  maxConnections?: number;
  /**
   * Listen backlog of the gateway's own port (not of a shared HTTP server). Default 4096, as TCP:
   * Node accepts one connection per event-loop turn, so a login burst waits in this queue, and a
   * full queue drops connection attempts that clients retry only after a second or more.
   */
  backlog?: number;
  /** TLS (wss) for the gateway's own port. */
  tls?: SecureContextOptions;
  /** Time a client may take from connecting to a completed upgrade (TLS included). Default 10,000 ms. */
  handshakeTimeoutMs?: number;
  /** Time a closed WebSocket waits for the client's close frame before the socket is destroyed. Default 5000 ms. */
  closeTimeoutMs?: number;
  /**
   * Bytes a client may leave unread (`bufferedAmount`); past it the session is
   * closed as a slow consumer and its unACKed QoS packets are reported. Default 1 MiB.
   */
  maxBufferedBytes?: number;
}

/** Server QoS timing and bounds (PROTOCOL.md §10.4, §10.5). */
export interface QoSOptions {
  /** TCP/WebSocket: delay before a retransmission, and from the last one to "lost". Default 4000 (reference window 2-7 s). */
  retransmitIntervalMs?: number;
  /** TCP/WebSocket: retransmissions before "lost". Default 1, as the reference. */
  maxRetransmits?: number;
  /** UDP (a lossy link): delay from the first write to the first retransmission. Default 2000. */
  udpRetransmitIntervalMs?: number;
  /** UDP: each further delay is the previous one times this. Default 2. */
  udpRetransmitBackoff?: number;
  /** UDP: longest delay between two attempts. Default 8000. */
  udpMaxRetransmitIntervalMs?: number;
  /** UDP: retransmissions at most. Default 8. */
  udpMaxRetransmits?: number;
  /** UDP: no retransmission later than this after the first write; "lost" one delay after the last. Default 30,000. */
  udpRetransmitLifetimeMs?: number;
  /** Cap on packets awaiting an ACK. Default 200,000. */
  maxPending?: number;
  /** How long a C2S fingerprint is remembered for dedup. Default 10 min. */
  dedupTtlMs?: number;
  /** Cap on remembered C2S fingerprints. Default 200,000. */
  dedupMaxEntries?: number;
  /** Cap on the C2S dedup table's estimated memory, in bytes. Default 32 MiB. */
  dedupMaxBytes?: number;
  /** Cap on one user's remembered C2S fingerprints; past it that user's oldest are forgotten. Default 10,000. */
  dedupMaxEntriesPerUser?: number;
}

/** Per-session abuse limits; all on by default. */
export interface LimitsOptions {
  /**
   * Sustained data packets (data, echo, login...) per second per session. Default 200.
   * Over it a TCP or WebSocket session is no longer read until its budget refills
   * (the sender slows down, nothing is dropped); a UDP session's excess is dropped.
   */
  packetsPerSecond?: number;
  /** Burst allowance above the sustained rate. Default 400. */
  burst?: number;
  /**
   * ACKs, keepalives and logouts per second per logged-in session, a budget of
   * their own so that a busy receiver's mandatory ACKs never eat its data budget.
   * Over it: paused (TCP/WS) or dropped (UDP) as for data. Default 1000.
   */
  controlPacketsPerSecond?: number;
  /** Burst allowance above `controlPacketsPerSecond`. Default 2000. */
  controlBurst?: number;
  /** Packets that may wait behind an asynchronous handler before the session is dropped. Default 1000. */
  maxQueuedPackets?: number;
  /** Bytes (UTF-16 length) that may wait behind an asynchronous handler before the session is dropped. Default 1 MiB. */
  maxQueuedBytes?: number;
  /**
   * Cluster: C2C of one session on their way to other nodes at once (they do not hold the session's later
   * packets); at this many, its later packets wait until one is answered. Default 100.
   */
  maxCrossNodeInFlight?: number;
  /** Longest `fp` accepted (the SDKs send 36-character UUIDs); longer gets error 400. Default 64. */
  maxFingerprintLength?: number;
  /** Longest user id accepted in a login or as a C2C recipient; longer gets code/error 400. Default 128. */
  maxUserIdLength?: number;
  /** A connection that has not logged in this long after it opened is closed, whatever it sends. Default 5000 ms. */
  loginTimeoutMs?: number;
  /** Packet rate of a session that has not logged in yet (echo, login retries). Default 2/s. */
  anonymousPacketsPerSecond?: number;
  /** Burst of a session that has not logged in yet. Default 10. */
  anonymousBurst?: number;
  /** Sessions not yet logged in, all transports together; past it the oldest such session is closed. Default 2000. */
  maxUnauthenticated?: number;
  /** Sessions not yet logged in from one remote address; further connections are refused. Default 100. */
  maxUnauthenticatedPerAddress?: number;
  /**
   * File descriptors kept free for everything else (HTTP, Redis, files): TCP and
   * WebSocket connections are refused once the process is this close to its
   * open-file limit (read at start). Default 512.
   */
  fdReserve?: number;
  /** Failed logins one remote address may make in a burst before it is throttled. Default 20. */
  loginFailuresPerAddress?: number;
  /** Failed logins for one user id in a burst before it is throttled. Default 10. */
  loginFailuresPerUser?: number;
  /** Time in which a throttled address or user id earns back its whole failure allowance. Default 60,000 ms. */
  loginThrottleWindowMs?: number;
  /** Addresses and user ids remembered by the login throttle (least recently failed are forgotten). Default 100,000. */
  loginThrottleMaxEntries?: number;
  /** Deepest nesting `@IMJson()` parses; deeper gets error 400 before any pipe runs. Default 32. */
  jsonMaxDepth?: number;
  /** An abuse kind (rate limit, bad input, ...) is logged at most once per session in this interval. Default 10,000 ms. */
  abuseLogIntervalMs?: number;
}

/**
 * Where messages wait for their recipient (offline, or not yet ACKed):
 * `'memory'` (the default; lost with the process), `{ redis }` (Redis Streams;
 * survives a crash, shared by the nodes of a cluster), your own
 * {@link IMMessageStore}, or `false` (none: the pre-store behaviour, an
 * undelivered C2C is not ACKed unless `@OnC2COffline` stores it).
 */
export type IMStoreSetting = 'memory' | RedisMessageStoreOptions | IMMessageStore | false;

/** Bounds of the message store; all on by default. */
export interface StoreLimitsOptions {
  /** Messages waiting per user; past it, new ones are refused (`IM_STORE_REFUSED`). Default 1000. */
  maxPerUser?: number;
  /** Messages waiting in all (memory store; Redis: its `maxmemory`). Default 100,000. */
  maxTotal?: number;
  /** A stored message not ACKed within this time is dropped. Default 7 days. */
  ttlMs?: number;
  /** Stored messages read per round trip at login. Default 100. */
  readBatch?: number;
}

/** Options of `IMModule.forRoot()`. Every field is optional. */
export interface IMModuleOptions {
  /** TCP transport; `false` disables it. Enabled by default. */
  tcp?: TcpTransportOptions | false;
  /** UDP transport; `false` disables it. Enabled by default. */
  udp?: UdpTransportOptions | false;
  /** WebSocket gateway; `false` disables it. Enabled by default. */
  ws?: WsGatewayOptions | false;
  qos?: QoSOptions;
  limits?: LimitsOptions;
  /** Scale out on Redis (needs the `ioredis` package). Off by default: one node. */
  cluster?: ClusterOptions;
  /** Interwork with MobileIMSDK / MobileIMSDK-Web servers over RabbitMQ (needs the `amqplib` package). Off by default. */
  bridge?: BridgeOptions;
  /** Stamp `sm` with the server time on every write (PROTOCOL.md §2.5). Default false. */
  serverTimestamp?: boolean;
  /** Echo (type 5) needs a logged-in session. Default false (the reference allows anonymous echo). */
  echoRequiresLogin?: boolean;
  /** Accept the reference's lenient JSON (single quotes, unquoted keys). Default true. */
  lenientJson?: boolean;
  /**
   * Do not listen on bootstrap; call `IMServer.start()` (or connect the transports
   * as Nest microservices) yourself. Default false.
   */
  manualStart?: boolean;
  /** Time source for all server timers; tests pass a `ManualClock`. */
  clock?: Clock;
  /** Timer tick in ms (QoS and idle checks). Default 100. */
  tickMs?: number;
  /**
   * Graceful shutdown: how long to wait for the ACKs of packets written to
   * connected users before they are handed over as undelivered. Default 5000 ms.
   */
  drainTimeoutMs?: number;
  /** Prometheus metrics (needs the `prom-client` package); `true` for the defaults. Off by default. */
  metrics?: IMMetricsOptions | boolean;
  /** The message store (README "Delivery guarantees"). Default `'memory'`. */
  store?: IMStoreSetting;
  /** Bounds of the message store. */
  storeLimits?: StoreLimitsOptions;
}

/** Options after defaults are applied. */
export interface ResolvedIMOptions {
  tcp: Required<Omit<TcpTransportOptions, 'tls' | 'host' | 'senseMode'>> & Pick<TcpTransportOptions, 'tls' | 'host'> | false;
  udp: Required<Omit<UdpTransportOptions, 'host' | 'senseMode'>> & Pick<UdpTransportOptions, 'host'> | false;
  ws: Required<Omit<WsGatewayOptions, 'tls' | 'host' | 'senseMode'>> & Pick<WsGatewayOptions, 'tls' | 'host'> | false;
  qos: Required<QoSOptions>;
  limits: Required<LimitsOptions>;
  cluster?: ClusterOptions;
  bridge?: ResolvedBridgeOptions;
  serverTimestamp: boolean;
  echoRequiresLogin: boolean;
  lenientJson: boolean;
  manualStart: boolean;
  clock?: Clock;
  tickMs: number;
  drainTimeoutMs: number;
  metrics?: IMMetricsOptions;
  store: IMStoreSetting;
  storeLimits: Required<StoreLimitsOptions>;
}
