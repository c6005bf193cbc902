/**
 * A private, throw-away `redis-server` for the tests that need Redis: on
 * 127.0.0.1, on a free port below 32768 (never 6379), with persistence off.
 * Suites call `describeWithRedis(...)`: without the binary they are skipped
 * with one printed line saying what to install.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import * as net from 'net';
import { tmpdir } from 'os';
import * as path from 'path';

const HOST = '127.0.0.1';
const BINARY = process.env.REDIS_SERVER_BIN ?? 'redis-server';

/** A running private Redis. */
export interface TestRedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Stops the server and waits until it exited. */
  stop(): Promise<void>;
  /** Kills the server (SIGKILL: a crash, nothing flushed) and waits until it exited. */
  kill(): Promise<void>;
  /** Starts an empty server again on the same port (after `kill` or `stop`). */
  restart(): Promise<void>;
}

let available: boolean | undefined;

/** True when `redis-server` can be run on this machine. */
export function redisServerAvailable(): boolean {
  available ??= spawnSync(BINARY, ['--version'], { stdio: 'ignore' }).status === 0;
  return available;
}

/** What a Redis suite gets: the URL of its private server, set before its first test. */
export interface RedisHandle {
  url: string;
}

let skipNoticePrinted = false;

/**
 * `describe` with a private `redis-server` started before the suite and
 * stopped after it. Without the binary: `describe.skip`, and one line on
 * stdout (once per file) saying what to install.
 */
export function describeWithRedis(name: string, fn: (redis: RedisHandle) => void): void {
  if (!redisServerAvailable()) {
    if (!skipNoticePrinted) {
      process.stdout.write(`SKIPPED Redis tests (${name}, ...): redis-server not found; install Redis (apt-get install redis-server, brew install redis) to run them\n`);
      skipNoticePrinted = true;
    }
    describe.skip(name, () => fn({ url: '' }));
    return;
  }
  describe(name, () => {
    const handle: RedisHandle = { url: '' };
    let server: TestRedisServer | undefined;
    beforeAll(async () => {
      server = await startRedisServer();
      handle.url = server.url;
    }, 30_000);
    afterAll(() => server?.stop());
    fn(handle);
  });
}

/** Extra settings of a private Redis. */
export interface RedisServerOptions {
  /** More redis-server arguments, e.g. `['--enable-debug-command', 'local']` for `DEBUG SLEEP`. */
  args?: string[];
}

/** Starts a private Redis; retries on another port if the chosen one was taken meanwhile. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<TestRedisServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePortBelow32768();
    try {
      return await launch(port, options.args ?? []);
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

async function launch(port: number, args: string[]): Promise<TestRedisServer> {
  let current = await spawnServer(port, args);
  return {
    port,
    url: `redis://${HOST}:${port}`,
    stop: () => current.stop(),
    kill: () => current.kill(),
    restart: async () => {
      current = await spawnServer(port, args);
    },
  };
}

/** One redis-server process on `port`, answering PING. */
async function spawnServer(port: number, args: string[] = []): Promise<{ stop(): Promise<void>; kill(): Promise<void> }> {
  // Its own working directory, so nothing is written into the repository even if a save is forced.
  const dir = mkdtempSync(path.join(tmpdir(), 'im-test-redis-'));
  const child = spawn(
    BINARY,
    ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning', '--daemonize', 'no', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-2000));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const stop = () => end('SIGTERM');
  try {
    await waitForPong(port, child, () => output);
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop, kill: () => end('SIGKILL') };
}

/** Waits until our child answers PING; fails if it exits or 10 s pass. */
async function waitForPong(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server on port ${port} exited: ${output().trim()}`);
    }
    if (await answeredBy(port, child.pid)) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within 10 s: ${output().trim()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * PINGs the port and checks, with INFO, that the server answering is our child:
 * another process may have taken the port between the check and the start.
 */
function answeredBy(port: number, pid: number | undefined): Promise<boolean> {
  return askRedis(port, 'PING\r\nINFO server\r\n', (reply) => {
    if (!reply.startsWith('+PONG')) return false;
    const info = /process_id:(\d+)/.exec(reply);
    return info ? Number(info[1]) === pid : undefined;
  });
}

/**
 * Sends raw RESP `commands` to the Redis on `port` and resolves with what
 * `verdict` says of the reply so far (undefined: read more); false on an
 * error or after a second. Raw, so that the probes need no Redis client.
 */
function askRedis(port: number, commands: string, verdict: (reply: string) => boolean | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write(commands));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      const ok = verdict(reply);
      if (ok !== undefined) done(ok);
    });
  });
}

/** A port in `from`-`to` (default 20000-32767) that nothing listens on right now (the project's tests listen below 32768). */
async function freePortBelow32768(from = 20_000, to = 32_767): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = from + Math.floor(Math.random() * (to - from + 1));
    if (await portFree(port)) return port;
  }
  throw new Error(`no free port found in ${from}-${to}`);
}

function portFree(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

// ------------------------------------------------------------------ Redis Cluster

const CLI = process.env.REDIS_CLI_BIN ?? 'redis-cli';
let clusterAvailable: boolean | undefined;

/** True when a Redis Cluster can be made here: redis-server 7+ (sharded pub/sub) and redis-cli. */
export function redisClusterAvailable(): boolean {
  if (clusterAvailable === undefined) {
    const version = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
    const major = Number(/v=(\d+)\./.exec(version.stdout ?? '')?.[1] ?? 0);
    clusterAvailable = version.status === 0 && major >= 7 && spawnSync(CLI, ['--version'], { stdio: 'ignore' }).status === 0;
  }
  return clusterAvailable;
}

/** A private Redis Cluster of three masters (no replicas) on 127.0.0.1. */
export interface TestRedisCluster {
  readonly nodes: Array<{ host: string; port: number }>;
  /** Stops every server and waits until they exited. */
  stop(): Promise<void>;
}

/**
 * Starts three `redis-server --cluster-enabled yes` on free ports (each with its bus port, +10000,
 * also below 32768), each in its own temp dir, joins them with `redis-cli --cluster create` and
 * waits until every node reports `cluster_state:ok`. Bounded: fails after 60 s.
 */
export async function startRedisCluster(): Promise<TestRedisCluster> {
  const servers: Array<{ port: number; stop(): Promise<void> }> = [];
  const stop = async () => void (await Promise.all(servers.map((s) => s.stop())));
  const deadline = Date.now() + 60_000;
  try {
    for (let attempt = 0; servers.length < 3; attempt++) {
      if (attempt >= 20 || Date.now() > deadline) throw new Error('could not start three cluster-enabled redis-servers');
      const port = await freePortBelow32768(20_000, 22_767);
      if (!(await portFree(port + 10_000)) || servers.some((s) => Math.abs(s.port - port) <= 1)) continue;
      try {
        const args = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000'];
        servers.push({ port, ...(await spawnServer(port, args)) });
      } catch {
        // Taken meanwhile: another port.
      }
    }
    const create = spawnSync(CLI, ['--cluster', 'create', ...servers.map((s) => `${HOST}:${s.port}`), '--cluster-replicas', '0', '--cluster-yes'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    for (const s of servers) {
      while (!(await clusterStateOk(s.port))) {
        if (Date.now() > deadline) throw new Error(`Redis Cluster node ${s.port} not ok within 60 s`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes: servers.map((s) => ({ host: HOST, port: s.port })), stop };
}

function clusterStateOk(port: number): Promise<boolean> {
  return askRedis(port, 'CLUSTER INFO\r\n', (reply) =>
    reply.includes('cluster_known_nodes') ? reply.includes('cluster_state:ok') && reply.includes('cluster_slots_ok:16384') : undefined,
  );
}

/** What a Redis Cluster suite gets: the seed nodes of its private cluster, set before its first test. */
export interface RedisClusterHandle {
  nodes: Array<{ host: string; port: number }>;
}

/**
 * `describe` with a private three-master Redis Cluster started before the suite and stopped
 * after it. Without redis-server 7 and redis-cli: `describe.skip`, and one line saying why.
 */
export function describeWithRedisCluster(name: string, fn: (cluster: RedisClusterHandle) => void): void {
  if (!redisClusterAvailable()) {
    process.stdout.write(`SKIPPED Redis Cluster tests (${name}): needs redis-server 7 or later and redis-cli\n`);
    describe.skip(name, () => fn({ nodes: [] }));
    return;
  }
  describe(name, () => {
    const handle: RedisClusterHandle = { nodes: [] };
    let cluster: TestRedisCluster | undefined;
    beforeAll(async () => {
      cluster = await startRedisCluster();
      handle.nodes.push(...cluster.nodes);
    }, 90_000);
    afterAll(() => cluster?.stop());
    fn(handle);
  });
}
