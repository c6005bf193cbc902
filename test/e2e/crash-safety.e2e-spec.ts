/**
 * Issue 11 item 5: with the Redis message store, no message whose sender got an
 * ACK is lost to a kill -9 of the server — whether its recipient was offline
 * (stored) or online and had not ACKed yet (written through, kept until the ACK).
 * The server runs as a child process (test/support/store-server.ts) against a
 * private redis-server; clients dedup by fp, as the SDKs do.
 */
import { ChildProcess, spawn } from 'child_process';
import * as path from 'path';
import { Packet, PacketType } from '../../lib';
import { IMTestClient, until } from '../../lib/testing';
import { describeWithRedis } from '../support/redis-server';

const ROOT = path.resolve(__dirname, '../..');
const HOST = '127.0.0.1';

interface ServerProcess {
  readonly port: number;
  readonly child: ChildProcess;
}

/** Starts store-server.ts as its own process; resolves once it printed its port. */
function startServer(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['-r', './test/support/ts-register.js', 'test/support/store-server.ts'], {
    cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 60 s: ${err}`)), 60_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const line = /\{"tcp":(\d+)\}/.exec(out);
      if (line) {
        clearTimeout(timer);
        resolve({ port: Number(line[1]), child });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${err}`));
    });
  });
}

function kill9(server: ServerProcess): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => server.child.once('exit', () => resolve()));
  server.child.kill('SIGKILL');
  return exited;
}

/**
 * A recipient application: dedups by fp (the SDKs' received-fingerprint table)
 * and ACKs what it got; packets `ackIf` rejects never reach it (a lossy link).
 */
class Recipient {
  readonly delivered = new Set<string>();
  duplicates = 0;
  private seen = 0;
  constructor(readonly client: IMTestClient, private readonly ackIf: (p: Packet) => boolean) {}

  /** Handles what arrived since the last call. */
  poll(): number {
    for (; this.seen < this.client.rawLog.length; this.seen++) {
      const p = JSON.parse(this.client.rawLog[this.seen]) as Packet;
      if (p.type !== PacketType.DATA || p.fp === undefined) continue;
      // A packet `ackIf` rejects stands for one lost on the way to the device: the application never sees it.
      if (!this.ackIf(p)) continue;
      if (this.delivered.has(p.fp)) this.duplicates++;
      else this.delivered.add(p.fp);
      this.client.ack(p);
    }
    return this.delivered.size;
  }
}

/** fps the server ACKed to `client` (type 4 packets) so far. */
function ackedFps(client: IMTestClient): Set<string> {
  const acked = new Set<string>();
  for (const text of client.rawLog) {
    const p = JSON.parse(text) as Packet;
    if (p.type === PacketType.ACK && p.dataContent) acked.add(p.dataContent);
  }
  return acked;
}

async function login(port: number, userId: string): Promise<IMTestClient> {
  const client = await IMTestClient.connect('tcp', port, { host: HOST });
  const res = await client.login(userId, { timeoutMs: 10_000 });
  if (res.code !== 0) throw new Error(`login of ${userId}: ${res.code}`);
  return client;
}

describeWithRedis('crash safety with the Redis store', (redis) => {
  const servers: ServerProcess[] = [];
  const clients: IMTestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const s of servers.splice(0)) await kill9(s);
  });

  const TOTAL = 300;
  const WINDOW = 20;

  /**
   * alice sends TOTAL QoS messages, alternately to bob (online, but two in three packets lost on its link)
   * and carol (offline), at most WINDOW unACKed; the first server is killed with
   * SIGKILL once a third were ACKed. After a restart (`restartEnv`), bob and carol
   * log in, ACK everything, and must have every message alice got an ACK for.
   */
  async function crashScenario(firstEnv: Record<string, string>, restart: () => Promise<ServerProcess>): Promise<{ acked: number; duplicates: number }> {
    const first = await startServer(firstEnv);
    servers.push(first);
    const alice = await login(first.port, 'alice');
    const bob = new Recipient(await login(first.port, 'bob'), (p) => Number(p.dataContent?.slice(1)) % 3 === 0);
    clients.push(alice, bob.client);
    const sentTo = new Map<string, string>();
    let killed: Promise<void> | undefined;
    for (let i = 0; i < TOTAL && !killed; i++) {
      const to = i % 2 === 0 ? 'bob' : 'carol';
      sentTo.set(alice.c2c(to, `m${i}`), to);
      // Bounded wait for the window, serving bob meanwhile.
      await until(() => (bob.poll(), ackedFps(alice).size > i - WINDOW || !alice.isOpen), { timeoutMs: 20_000 });
      if (ackedFps(alice).size >= TOTAL / 3) killed = kill9(first);
    }
    await killed;
    const acked = ackedFps(alice);
    expect(acked.size).toBeGreaterThanOrEqual(TOTAL / 3);
    alice.close();
    bob.client.close();

    const second = await restart();
    const bob2 = new Recipient(await login(second.port, 'bob'), () => true);
    const carol = new Recipient(await login(second.port, 'carol'), () => true);
    clients.push(bob2.client, carol.client);
    const wanted = (user: string) => [...acked].filter((fp) => sentTo.get(fp) === user);
    const bobHas = () => new Set([...bob.delivered, ...bob2.delivered]);
    await until(() => {
      bob2.poll();
      carol.poll();
      const b = bobHas();
      return wanted('bob').every((fp) => b.has(fp)) && wanted('carol').every((fp) => carol.delivered.has(fp));
    }, { timeoutMs: 30_000, message: 'every ACKed message delivered after the restart' });
    // Exactly once to the application: nothing but alice's messages, each fp handed over once (the sets).
    for (const fp of [...bobHas(), ...carol.delivered]) expect(sentTo.has(fp)).toBe(true);
    return { acked: acked.size, duplicates: bob.duplicates + bob2.duplicates + carol.duplicates };
  }

  it('kill -9 mid-traffic, restart: every message whose sender got an ACK reaches its recipient once (after dedup by fp)', async () => {
    const env = { IM_REDIS_URL: redis.url, IM_STORE_PREFIX: 'crash1:' };
    const { acked, duplicates } = await crashScenario(env, async () => {
      const restarted = await startServer(env);
      servers.push(restarted);
      return restarted;
    });
    process.stdout.write(`crash test (one node): ${acked} ACKed before kill -9, all delivered; ${duplicates} duplicates dropped by fp\n`);
  }, 180_000);

  it('two nodes: the recipients come back on the other node after the first is killed', async () => {
    const other = await startServer({ IM_REDIS_URL: redis.url, IM_STORE_PREFIX: 'crash2:', IM_CLUSTER: '1', IM_NODE_ID: 'node-b' });
    servers.push(other);
    const { acked, duplicates } = await crashScenario(
      { IM_REDIS_URL: redis.url, IM_STORE_PREFIX: 'crash2:', IM_CLUSTER: '1', IM_NODE_ID: 'node-a' },
      async () => other,
    );
    process.stdout.write(`crash test (two nodes): ${acked} ACKed before kill -9 of node-a, all delivered by node-b; ${duplicates} duplicates dropped by fp\n`);
  }, 180_000);
});
