import type { Observable } from 'rxjs';
import type { IMMetrics } from '../metrics/im-metrics';
import type { Packet } from '../protocol/packet';
import type { Clock } from './clock';
import type { DeliveryResult } from './delivery-result';
import type { IMCoreEvent, IMStats } from './im-events';
import type { OnlineTable } from './online-table';
import type { RemoteRouter } from './remote-router';
import type { Session } from './session';

/**
 * What the cluster (`lib/cluster`) may do with the core of its node (the core
 * implements it): read the local online table, deliver and kick locally,
 * apply the cross-node duplicate-login rules, and install itself as the
 * router for users online elsewhere.
 */
export interface IMClusterPort {
  readonly clock: Clock;
  /** Session events of this node (presence follows online and offline). */
  readonly events: Observable<IMCoreEvent>;
  /** Users logged in on this node. */
  readonly online: Pick<OnlineTable, 'get' | 'sessions' | 'size'>;
  readonly metrics: Pick<IMMetrics, 'clusterRequest'>;
  /** The node's counters the cluster adds to (cross-node outcomes it cannot know, envelopes it refused). */
  readonly stats: Pick<IMStats, 'crossNodeUnknown' | 'clusterEnvelopesRejected'>;
  /** Sends to a user on this node only (`localOnly`), or routes. */
  push(userId: string, packet: Packet, localOnly?: boolean): Promise<DeliveryResult>;
  /** Delivers a C2C packet another node forwarded; false if the user has no session here. */
  deliverRemoteC2C(packet: Packet): boolean;
  /** Kicks the user's session on this node; false if there is none. */
  kick(userId: string, reason?: string): boolean;
  /** Applies a newer login elsewhere to the session here (PROTOCOL.md §4 duplicate-login rules). */
  supersede(userId: string, clientTime: number, sessionId?: number): 'kicked' | 'retired' | 'stale' | 'absent';
  /** Refuses a login here that an older-but-preferred session elsewhere wins. */
  rejectStaleLogin(userId: string, session: Session): void;
  /** Installs (or removes) the router for users who have no session here. */
  setRemoteRouter(remote: RemoteRouter | undefined): void;
}
