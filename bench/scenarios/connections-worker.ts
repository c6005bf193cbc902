import { monitorEventLoopDelay } from 'perf_hooks';
import { ClientPool } from '../lib/client-pool';
import { HistogramData } from '../lib/histogram';
import { Endpoint, Transport } from '../lib/links';
import { WorkerChannel } from '../lib/worker-io';

export interface ConnectionsWorkerConfig {
  transport: Transport;
  endpoint: Endpoint;
  localAddress: string;
  /** Users `${userPrefix}${userOffset + i}` for i < count. */
  count: number;
  userPrefix: string;
  userOffset: number;
  /** Connections per second from this worker. */
  rate: number;
  keepaliveMs: number;
}

export interface ConnectionsOpened {
  loggedIn: number;
  loginFailures: number;
  failureSamples: string[];
  login: HistogramData;
  /** This generator's event-loop delay during its ramp, ms: time a login response waited in the generator, not the server. */
  loopDelay: { p99Ms: number; maxMs: number };
}

export interface ConnectionsClosed {
  keepaliveResponses: number;
  unexpectedCloses: number;
  errors: number;
  kickouts: number;
}

/**
 * Opens logged-in clients at a rate, keeps them alive until told to close. The ramp waits for
 * `start`, sent once every generator process is up: several Node processes starting at once take
 * about a second of both cores, which would otherwise land on the first logins' latency.
 */
export async function connectionsWorker(channel: WorkerChannel, cfg: ConnectionsWorkerConfig): Promise<void> {
  const pool = new ClientPool({ transport: cfg.transport, endpoint: cfg.endpoint, localAddress: cfg.localAddress, rate: cfg.rate });
  const users = Array.from({ length: cfg.count }, (_, i) => `${cfg.userPrefix}${cfg.userOffset + i}`);
  await channel.send('ready');
  await channel.next('start');
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  // Keepalives from the first login on, as the SDKs do: a ramp longer than the server's idle
  // timeout (38,000 at 2,000/s takes 19 s; the default idle timeout is 20 s) must not idle out its first clients.
  pool.startKeepalive(cfg.keepaliveMs);
  await pool.open(users);
  delay.disable();
  const opened: ConnectionsOpened = {
    loggedIn: pool.clients.length,
    loginFailures: pool.counters.loginFailures,
    failureSamples: pool.failureSamples,
    login: pool.loginLatency.toJSON(),
    loopDelay: { p99Ms: delay.percentile(99) / 1e6, maxMs: delay.max / 1e6 },
  };
  await channel.send('opened', opened);
  await channel.next('close');
  const { keepaliveResponses, unexpectedCloses, errors, kickouts } = pool.counters;
  pool.closeAll();
  const closed: ConnectionsClosed = { keepaliveResponses, unexpectedCloses, errors, kickouts };
  await channel.send('result', closed);
}
