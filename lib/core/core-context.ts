import { Logger } from '@nestjs/common';
import { Subject } from 'rxjs';
import { IMErrors } from '../errors/im-error-codes';
import { ResolvedIMOptions } from '../im-options.interface';
import { IMMetrics, NOOP_METRICS } from '../metrics/im-metrics';
import { ReceiveDedupTable } from '../qos/receive-dedup-table';
import { RetransmitPolicy, retransmitPolicies } from '../qos/retransmit-policy';
import { SendQoSCallbacks, SendQoSTable } from '../qos/send-qos-table';
import { IMMessageStore } from '../store/message-store';
import { createMessageStore } from '../store/create-message-store';
import { AbuseLog } from './abuse-log';
import { Admission } from './admission';
import type { BridgePort } from './bridge-port';
import { Clock, SystemClock } from './clock';
import type { TransportKind } from './connection';
import { IMCoreHooks, isThenable } from './core-hooks';
import { countOpenFds, readOpenFileLimit } from './fd-limit';
import { emptyStats, IMCoreEvent, IMStats } from './im-events';
import { LoginThrottle } from './login-throttle';
import { OnlineTable } from './online-table';
import type { RemoteRouter } from './remote-router';
import type { Session } from './session';
import { sessionLog } from './session-log';

/**
 * What the parts of the core share (`IMCore` builds one and hands it to each
 * part): the options, the tables every concern reads (online users, open
 * sessions, admission, send QoS, dedup), the counters, events and metrics, and
 * what the application installs later (hooks, cluster router, bridge). It holds
 * state and two small helpers, never a part: parts reach each other only
 * through what their constructors were given, so the import graph stays a
 * tree (`test/unit/import-graph.spec.ts`).
 */
export class CoreContext {
  readonly clock: Clock;
  readonly logger = new Logger('IMCore');
  /** Operational counters. */
  readonly stats: IMStats = emptyStats();
  /** Session and delivery events (emitted only while observed). */
  readonly events = new Subject<IMCoreEvent>();
  /** Where counters with transport and reason labels go (no-op unless metrics are on). */
  metrics: IMMetrics = NOOP_METRICS;
  /** The application's hooks (built by the handler explorer). */
  hooks: IMCoreHooks = {};
  /** Routes what is addressed to users who are not on this node (the Redis cluster). */
  remote?: RemoteRouter;
  /** The MobileIMSDK-Web bridge, for users online nowhere here. */
  bridge?: BridgePort;
  /** user id → session (PROTOCOL.md §4). */
  readonly online = new OnlineTable();
  /** Every open session, logged in or not. */
  readonly sessions = new Set<Session>();
  readonly admission: Admission;
  readonly loginThrottle: LoginThrottle;
  readonly abuse: AbuseLog;
  /** Packets awaiting their recipient's ACK; its callbacks are the delivery part's (retransmit) and the store path's (lost). */
  readonly sendQoS: SendQoSTable;
  /** Retransmission policy by the recipient's transport. */
  readonly policies: Readonly<Record<TransportKind, RetransmitPolicy>>;
  readonly dedup: ReceiveDedupTable;
  /** Where undelivered messages wait for their recipient's next login (`store` option); null with `store: false`. */
  readonly store: IMMessageStore | null;
  /** The core made the store (and closes it); an application's own instance is the application's to close. */
  readonly ownsStore: boolean;
  /** Shutting down: a store that dies with the process keeps nothing more (what it would get is reported lost). */
  shuttingDown = false;
  /** Draining: only ACKs, keepalives and logouts are processed (see `GracefulDrain`). */
  draining = false;
  /**
   * The arrival time of the packet being dispatched, set by the session
   * pipeline for the synchronous part of its handling: the clock is read once
   * per packet instead of at each step (on this machine `Date.now()` costs
   * about 55 ns, and a QoS C2C and its ACK read it six times). Undefined
   * outside a dispatch, where `now()` reads the clock.
   */
  packetNow: number | undefined = undefined;

  /** The current packet's arrival time within its dispatch, the clock otherwise. */
  now(): number {
    return this.packetNow ?? this.clock.now();
  }

  constructor(readonly options: ResolvedIMOptions, qos: SendQoSCallbacks) {
    this.clock = options.clock ?? new SystemClock();
    const { limits } = options;
    this.sendQoS = new SendQoSTable(options.qos, qos);
    ({ store: this.store, owned: this.ownsStore } = createMessageStore(options, () => this.clock.now()));
    this.policies = retransmitPolicies(options.qos);
    this.dedup = new ReceiveDedupTable({
      ttlMs: options.qos.dedupTtlMs, maxEntries: options.qos.dedupMaxEntries,
      maxBytes: options.qos.dedupMaxBytes, maxEntriesPerUser: options.qos.dedupMaxEntriesPerUser,
    });
    const fdLimit = readOpenFileLimit();
    this.admission = new Admission({
      maxUnauthenticated: limits.maxUnauthenticated,
      maxUnauthenticatedPerAddress: limits.maxUnauthenticatedPerAddress,
      // The descriptors open now (modules, the event loop) stay in use; the reserve covers later ones.
      maxStreamConnections: fdLimit === undefined ? Infinity : Math.max(0, fdLimit - countOpenFds() - limits.fdReserve),
    });
    this.loginThrottle = new LoginThrottle({
      perAddress: limits.loginFailuresPerAddress, perUser: limits.loginFailuresPerUser,
      windowMs: limits.loginThrottleWindowMs, maxEntries: limits.loginThrottleMaxEntries,
    });
    this.abuse = new AbuseLog(this.logger, limits.abuseLogIntervalMs, () => this.clock.now());
  }

  /** A hook's result nobody waits for: a rejection is counted and logged, not left unhandled. */
  fireAndForget(result: unknown): void {
    if (isThenable(result)) result.then(undefined, (err) => this.handlerFailed(undefined, err));
  }

  handlerFailed(session: Session | undefined, err: unknown): void {
    this.stats.handlerErrors++;
    this.logger.error(sessionLog(session, IMErrors.HANDLER_FAILED.message((err as Error)?.message), IMErrors.HANDLER_FAILED.id), (err as Error)?.stack);
  }
}
