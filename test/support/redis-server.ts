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
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\nINFO server\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (!reply.startsWith('+PONG')) return done(false);
      const info = /process_id:(\d+)/.exec(reply);
      if (info) done(Number(info[1]) === pid);
    });
  });
}

/** A port in 20000-32767 that nothing listens on right now (the project's tests listen below 32768). */
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
