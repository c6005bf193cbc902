/**
 * The sample app as real processes: `IM_WORKERS=2` forks two workers (cluster nodes on a private
 * redis-server) that share the TCP and WebSocket ports. Users that landed on different workers chat
 * both ways; /metrics sums the workers; a killed worker is started again; SIGTERM to the primary closes both workers' apps and
 * the primary exits 0.
 */
import { ChildProcess, spawn } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import * as net from 'net';
import type { AddressInfo } from 'net';
import { tmpdir } from 'os';
import * as path from 'path';
import { PacketType, TransportKind } from '../../lib';
import { IMTestClient, startIMTestingApp, until } from '../../lib/testing';
import { MessageType } from '../../sample-app/im/message-types';
import { describeWithRedis } from '../support/redis-server';

const ROOT = path.resolve(__dirname, '..', '..');
const HOST = '127.0.0.1';
const USERS = ['t1', 't2', 'w1', 'w2', 'u1', ...Array.from({ length: 420 }, (_, i) => `n${i}`)];
const ADMIN_TOKEN = 'workers-admin-token';

interface Sample {
  child: ChildProcess;
  ports: { tcp: number; udp: number; ws: number; http: number };
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `node sample-app/main.ts` (TypeScript through test/support/ts-register.js) and waits for its
 * ready line; `openFiles` lowers the processes' open-file limit (`ulimit -n`, inherited by the workers).
 */
async function startSample(env: NodeJS.ProcessEnv, openFiles?: number): Promise<Sample> {
  const node = [process.execPath, '-r', path.join(ROOT, 'test/support/ts-register.js'), path.join(ROOT, 'sample-app/main.ts')];
  const [command, ...args] = openFiles ? ['/bin/sh', '-c', `ulimit -n ${openFiles} && exec "$0" "$@"`, ...node] : node;
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, HOST, IM_TCP_PORT: '0', IM_UDP_PORT: '0', IM_WS_PORT: '0', PORT: '0', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-20_000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const output = () => `stdout:\n${stdout}\nstderr:\n${stderr}`;
  let done = false;
  exited.then(() => (done = true));
  // Transpiling the app in three processes takes a while on a busy machine.
  await until(() => done || /nestjs-im ready .*\n/.test(stdout), { timeoutMs: 90_000, message: 'the ready line' }).catch((err: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${err.message}\n${output()}`);
  });
  const m = /nestjs-im ready tcp=(\d+) udp=(\d+) ws=(\d+) http=(\d+) workers=2/.exec(stdout);
  if (!m) {
    child.kill('SIGKILL');
    throw new Error(`no two-worker ready line:\n${output()}`);
  }
  return { child, ports: { tcp: +m[1], udp: +m[2], ws: +m[3], http: +m[4] }, output, exited };
}

/** A port below 32768 that nothing listens on right now (the tests' rule); listeners here need explicit ports. */
async function freePortBelow32768(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_768);
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, HOST, () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port found in 20000-32767');
}

describeWithRedis('sample app with IM_WORKERS=2 (real processes, private redis-server)', (redis) => {
  jest.setTimeout(150_000);
  let dir: string;
  let sample: Sample | undefined;
  const clients: IMTestClient[] = [];

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'im-workers-'));
    writeFileSync(path.join(dir, 'users.json'), JSON.stringify(USERS.map((userId) => ({ userId, token: `${userId}-secret` }))));
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    if (sample && sample.child.exitCode === null && sample.child.signalCode === null) {
      sample.child.kill('SIGKILL');
      await sample.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  async function login(userId: string, transport: TransportKind, port: number): Promise<IMTestClient> {
    const client = await IMTestClient.connect(transport, port, { host: HOST });
    clients.push(client);
    const res = await client.login(userId, { token: `${userId}-secret` });
    expect(res.code).toBe(0);
    return client;
  }

  /** The users online on the client's own worker (the sample's C2S online query). */
  async function usersOnSameWorker(client: IMTestClient): Promise<string[]> {
    const query = client.c2s('', { typeu: MessageType.ONLINE_QUERY });
    await client.expect({ type: PacketType.ACK, dataContent: query }, 10_000);
    const answer = await client.expect({ type: PacketType.DATA, from: '0', typeu: MessageType.ONLINE_USERS }, 10_000);
    return (JSON.parse(answer.dataContent as string) as { users: string[] }).users;
  }

  /** Logs `userId` in until its connection landed on another worker than `other`'s (bounded). */
  async function loginOnOtherWorker(userId: string, otherUserId: string, transport: TransportKind, port: number): Promise<IMTestClient> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const client = await login(userId, transport, port);
      if (!(await usersOnSameWorker(client)).includes(otherUserId)) return client;
      client.logout();
      client.close();
      await client.expectClosed(10_000).catch(() => undefined);
    }
    throw new Error(`${userId} landed on ${otherUserId}'s worker 10 times in a row`);
  }

  /** A QoS C2C from `from` reaches `to` across workers and its sender gets the ACK. */
  async function chat(from: IMTestClient, to: IMTestClient, toUserId: string, text: string): Promise<void> {
    const fp = from.c2c(toUserId, text);
    const got = await to.expect({ type: PacketType.DATA, fp }, 10_000);
    expect(got.dataContent).toBe(text);
    to.ack(got);
    await from.expect({ type: PacketType.ACK, dataContent: fp }, 10_000);
  }

  it('users on different workers chat both ways over TCP and WebSocket, UDP is served, a killed worker comes back, and SIGTERM stops every worker cleanly', async () => {
    sample = await startSample({
      IM_WORKERS: '2',
      IM_REDIS_URL: redis.url,
      IM_USERS_FILE: path.join(dir, 'users.json'),
      IM_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    const { ports } = sample;

    const t1 = await login('t1', 'tcp', ports.tcp);
    const t2 = await loginOnOtherWorker('t2', 't1', 'tcp', ports.tcp);
    await chat(t1, t2, 't2', 'tcp one way');
    await chat(t2, t1, 't1', 'tcp the other way');

    // /metrics, whichever worker takes the scrape, sums every worker: both TCP users count.
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`http://${HOST}:${ports.http}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/^im_sessions\{transport="tcp"\} 2$/m);
    }

    const w1 = await login('w1', 'ws', ports.ws);
    const w2 = await loginOnOtherWorker('w2', 'w1', 'ws', ports.ws);
    await chat(w1, w2, 'w2', 'ws one way');
    await chat(w2, w1, 'w1', 'ws the other way');

    // UDP is one worker's socket: a UDP user reaches TCP users on both workers.
    const u1 = await login('u1', 'udp', ports.udp);
    await chat(u1, t1, 't1', 'udp to t1');
    await chat(u1, t2, 't2', 'udp to t2');
    await chat(t2, u1, 'u1', 't2 to udp');

    // A worker that dies is started again on the same ports and joins the cluster; its users log in again.
    const pids = /2 workers listening .*\(pids (\d+), (\d+)\)/.exec(sample.output());
    expect(pids).not.toBeNull();
    const victim = Number(pids?.[1]);
    process.kill(victim, 'SIGKILL');
    const output = sample.output;
    await until(() => new RegExp(`worker (\\d) \\(pid ${victim}\\) exited with signal SIGKILL; starting it again`).test(output()), { timeoutMs: 10_000, message: 'the restart' });
    await until(() => /worker \d \(pid \d+\) listening again/.test(output()), { timeoutMs: 90_000, message: 'the restarted worker listening' });
    const t1Again = t1.isOpen ? t1 : await login('t1', 'tcp', ports.tcp);
    const again = await loginOnOtherWorker('t2', 't1', 'tcp', ports.tcp);
    await chat(again, t1Again, 't1', 'after the restart');
    await chat(t1Again, again, 't2', 'back after the restart');

    // An observer node on the same Redis sees the workers' users, until the workers stop.
    const observer = await startIMTestingApp({ im: { cluster: { redis: redis.url } } });
    try {
      expect(await observer.push.isOnlineAnywhere('t1')).toBe(true);
      sample.child.kill('SIGTERM');
      const { child } = sample;
      await until(() => child.exitCode !== null || child.signalCode !== null, { timeoutMs: 30_000, message: 'the primary exits after SIGTERM' }).catch((err: Error) => {
        throw new Error(`${err.message}\n${output()}`);
      });
      expect(await sample.exited).toEqual({ code: 0, signal: null });
      // Each worker closed its app: its clients were disconnected and its users left Redis.
      for (const c of [t1Again, again, w1, w2]) await c.expectClosed(10_000);
      expect(output()).toMatch(/worker 0: closing/);
      expect(output()).toMatch(/worker 1: closing/);
      for (const user of ['t1', 't2']) expect(await observer.push.isOnlineAnywhere(user)).toBe(false);
    } finally {
      await observer.close();
    }
  });

  it('a worker near its open-file limit leaves the rotation, the other takes the new connections, and it comes back', async () => {
    // 900 files: each worker may hold about 300 connections (limits.fdReserve keeps 512), and stops taking them 64 earlier.
    const [tcpPort, wsPort] = [await freePortBelow32768(), await freePortBelow32768()];
    sample = await startSample(
      { IM_WORKERS: '2', IM_REDIS_URL: redis.url, IM_USERS_FILE: path.join(dir, 'users.json'), IM_TCP_PORT: String(tcpPort), IM_WS_PORT: String(wsPort) },
      900,
    );
    const { output, ports } = sample;
    expect(ports.tcp).toBe(tcpPort);
    const pids = /2 workers listening .*\(pids (\d+), (\d+)\)/.exec(output());
    expect(pids).not.toBeNull();
    // Worker B stopped: the primary's round-robin hands everything to worker A until A pauses.
    const stopped = Number(pids?.[2]);
    process.kill(stopped, 'SIGSTOP');
    let resumed = false;
    try {
      const onA: IMTestClient[] = [];
      let n = 0;
      let heldByB = 0;
      for (; n < 400 && !/near its open-file limit/.test(output()); n++) {
        const client = await IMTestClient.connect('tcp', ports.tcp, { host: HOST });
        clients.push(client);
        // The one connection handed to B as it stopped cannot log in yet.
        const res = await client.login(`n${n}`, { token: `n${n}-secret`, timeoutMs: 2000 }).catch(() => undefined);
        if (res) {
          expect(res.code).toBe(0);
          onA.push(client);
        } else heldByB++;
      }
      expect(heldByB).toBeLessThanOrEqual(1);
      expect(output()).toMatch(/worker \d: \d+ connections, near its open-file limit \(900\): not taking new ones/);
      expect(onA.length).toBeGreaterThan(100);
      // A paused, B (stopped) took one at most; now ten more connections
      // wait in the primary for B, and log in once B runs again.
      const waiting = await Promise.all(Array.from({ length: 10 }, () => IMTestClient.connect('tcp', ports.tcp, { host: HOST })));
      clients.push(...waiting);
      const logins = waiting.map((c, i) => c.login(`n${n + i}`, { token: `n${n + i}-secret`, timeoutMs: 20_000 }));
      process.kill(stopped, 'SIGCONT');
      resumed = true;
      for (const res of await Promise.all(logins)) expect(res.code).toBe(0);
      // They are on B: A's first user is not on their worker.
      expect(await usersOnSameWorker(waiting[0])).not.toContain('n0');
      // A takes connections again once enough of its own closed.
      for (const c of onA.splice(0)) c.close();
      await until(() => /taking new ones again/.test(output()), { timeoutMs: 10_000, message: 'worker A taking connections again' }).catch((err: Error) => {
        throw new Error(`${err.message}\n${output().slice(-3000)}`);
      });
    } finally {
      if (!resumed) process.kill(stopped, 'SIGCONT');
    }
    sample.child.kill('SIGTERM');
    await until(() => sample?.child.exitCode !== null || sample?.child.signalCode !== null, { timeoutMs: 30_000, message: 'the primary exits' });
    expect(await sample.exited).toEqual({ code: 0, signal: null });
  });

  /** Runs the sample until it exits by itself; resolves its exit code and stderr. */
  async function runToExit(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
    const child = spawn(process.execPath, ['-r', path.join(ROOT, 'test/support/ts-register.js'), path.join(ROOT, 'sample-app/main.ts')], {
      cwd: ROOT,
      env: { ...process.env, HOST, IM_TCP_PORT: '0', IM_UDP_PORT: '0', IM_WS_PORT: '0', PORT: '0', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-20_000)));
    const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    clearTimeout(killer);
    return { code, stderr };
  }

  it('refuses IM_WORKERS without IM_REDIS_URL, saying why', async () => {
    const { code, stderr } = await runToExit({ IM_WORKERS: '2', IM_REDIS_URL: '' });
    expect(code).toBe(1);
    expect(stderr).toMatch(/IM_WORKERS=2 needs IM_REDIS_URL/);
  });

  it('stops every worker and exits 1 when a worker cannot start (its TCP port is taken)', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, HOST, resolve));
    try {
      const busy = (blocker.address() as AddressInfo).port;
      const { code, stderr } = await runToExit({ IM_WORKERS: '2', IM_REDIS_URL: redis.url, IM_TCP_PORT: String(busy), IM_USERS_FILE: path.join(dir, 'users.json') });
      expect(code).toBe(1);
      expect(stderr).toMatch(/during start-up; stopping/);
    } finally {
      blocker.close();
    }
  });
});
