import { ClientPool } from '../lib/client-pool';
import type { ConnectionsWorkerConfig } from './connections-worker';
import { WorkerChannel } from '../lib/worker-io';
import { AckPacket, fpValue, stringEnd } from '../lib/wire';

/** A push worker logs in users like a connections worker; the server then pushes to prefix0…prefix{N-1}. */
export type PushWorkerConfig = ConnectionsWorkerConfig;

/** What this worker's clients got of one push (one fingerprint). */
export interface PushReceipts {
  fp: string;
  received: number;
  /** Epoch ms of the first and last receipt. */
  first: number;
  last: number;
}

export interface PushWorkerResult {
  rounds: PushReceipts[];
  /** A client got the same fingerprint twice. */
  dups: number;
  unexpectedCloses: number;
}

/** Push receivers: logged-in clients that ACK every QoS data packet as the SDKs do (to "0"). */
export async function pushWorker(channel: WorkerChannel, cfg: PushWorkerConfig): Promise<void> {
  const rounds = new Map<string, PushReceipts>();
  const seen: Set<string>[] = [];
  const acks: AckPacket[] = [];
  let dups = 0;
  const pool = new ClientPool(
    { transport: cfg.transport, endpoint: cfg.endpoint, localAddress: cfg.localAddress, rate: cfg.rate },
    (client, buf, start, end, type) => {
      if (type !== 2) return;
      const at = fpValue(buf, start, end);
      const fpEnd = at < 0 ? -1 : stringEnd(buf, at, end);
      if (fpEnd < 0) return;
      const ack = (acks[client.index] ??= new AckPacket(client.userId, '0', client.link.framed));
      client.link.write(ack.make(buf, at, fpEnd));
      const fp = buf.toString('latin1', at, fpEnd);
      const mine = (seen[client.index] ??= new Set());
      if (mine.has(fp)) {
        dups++;
        return;
      }
      mine.add(fp);
      const now = performance.timeOrigin + performance.now();
      const r = rounds.get(fp) ?? { fp, received: 0, first: now, last: now };
      r.received++;
      r.last = now;
      rounds.set(fp, r);
    },
  );
  const users = Array.from({ length: cfg.count }, (_, i) => `${cfg.userPrefix}${cfg.userOffset + i}`);
  await pool.open(users);
  pool.startKeepalive(cfg.keepaliveMs);
  await channel.send('ready', { loggedIn: pool.clients.length, loginFailures: pool.counters.loginFailures, failureSamples: pool.failureSamples });
  await channel.next('finish');
  const result: PushWorkerResult = { rounds: [...rounds.values()], dups, unexpectedCloses: pool.counters.unexpectedCloses };
  pool.closeAll();
  await channel.send('result', result);
}
