import { ChildProcess, fork } from 'child_process';
import * as net from 'net';
import * as path from 'path';
import * as readline from 'readline';

/** Ports a bench server reports in its ready line. */
export interface ServerPorts {
  pid: number;
  tcp?: number;
  ws?: number;
  udp?: number;
  /** HTTP push trigger (bench/server.ts only). */
  push?: number;
  /** Worker pids (bench/server.ts with --workers). */
  workers?: number[];
}

/** One server worker's figures after a full GC (multi-worker bench server). */
export interface WorkerReading {
  pid: number;
  rssKb?: number;
  sessions: number;
  online: number;
  onlineAnywhere?: number;
  /** Why sessions ended or were refused (PushService.stats). */
  closes?: { idleTimeouts: number; kicks: number; fdLimitRefused: number; loginTimeouts: number };
}

/** The server under test: started by the bench, or external (`--port`, optional `--pid`). */
export interface Target extends Omit<ServerPorts, 'pid'> {
  /** "nestjs-im", "relay" or "external". */
  name: string;
  host: string;
  wsPath: string;
  /** Process to read CPU and RSS from; none for an external server without `--pid`. */
  pid?: number;
  /** Multi-worker server: a full GC in every worker, then each one's RSS and sessions. */
  readWorkers?(): Promise<WorkerReading[]>;
  /** The accept-floor server: a full GC, then its live heap (over IPC; it has no HTTP port). */
  fullGc?(): Promise<{ heapUsedKb: number }>;
  stop(): Promise<void>;
}

/** Marker of the ready line that bench servers print. */
export const READY_MARKER = 'BENCH-SERVER READY';

export interface StartOptions {
  /** Extra Node flags for the server, e.g. `--cpu-prof`. */
  execArgv?: string[];
  /** The server exits by itself after this long. */
  lifetimeMs: number;
  /** Transports to enable (nestjs-im only). */
  transports?: string;
  /** Keep the library's default abuse limits instead of raising them for load (nestjs-im only). */
  defaultLimits?: boolean;
  /** Message store of the server: `memory` (the library default), `off`, or a Redis URL (nestjs-im only). */
  store?: string;
  /** nestjs-im as this many worker processes (`runIMWorkers`), cluster nodes on `redisUrl`. */
  workers?: number;
  redisUrl?: string;
  /** A cluster node on this Redis URL, with this node id (nestjs-im only). */
  cluster?: { redis: string; nodeId: string };
}

const SCRIPTS = { 'nestjs-im': 'server.js', relay: 'relay-server.js', 'accept-floor': 'accept-floor-server.js' } as const;

/** Forks bench/server.js (nestjs-im), bench/relay-server.js or bench/accept-floor-server.js on free loopback ports. */
export async function startServer(kind: keyof typeof SCRIPTS, options: StartOptions): Promise<Target> {
  const script = path.join(__dirname, '..', SCRIPTS[kind]);
  const args = ['--host', '127.0.0.1', '--tcp', '0', '--lifetime', String(Math.ceil(options.lifetimeMs / 1000))];
  if (kind === 'nestjs-im') args.push('--ws', '0', '--udp', '0', '--push', '0', '--transports', options.transports ?? 'tcp,ws,udp');
  if (kind === 'nestjs-im' && options.defaultLimits) args.push('--default-limits');
  if (kind === 'nestjs-im' && options.store) args.push('--store', options.store);
  if (kind === 'nestjs-im' && (options.workers ?? 1) > 1) {
    // Explicit ports: a worker near its file limit leaves the rotation by closing its listener and
    // joins again by listening on the same port, which a port-0 listener cannot (runIMWorkers).
    args.push('--workers', String(options.workers), '--redis', options.redisUrl ?? '', '--tcp', String(await freePort()), '--ws', String(await freePort()));
  }
  else if (kind === 'nestjs-im' && options.cluster) args.push('--redis', options.cluster.redis, '--node-id', options.cluster.nodeId);
  // --expose-gc lets the connections scenario settle the heap (GET /gc) before reading RSS.
  const execArgv = [...(kind !== 'relay' ? ['--expose-gc'] : []), ...(options.execArgv ?? [])];
  const child = fork(script, args, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'], execArgv });
  readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    if (!line.startsWith(READY_MARKER)) process.stderr.write(`[${kind}] ${line}\n`);
  });
  const ports = await new Promise<ServerPorts>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind} server not ready within 30 s`)), 30_000);
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code} before it was ready`)));
    child.on('message', (m: { kind: string; data: ServerPorts }) => {
      if (m.kind !== 'ready') return;
      clearTimeout(timer);
      resolve(m.data);
    });
  });
  const askGc = <T>() =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no gc-result from the ${kind} server within 30 s`)), 30_000);
      const onMessage = (m: { kind: string; data: T }) => {
        if (m.kind !== 'gc-result') return;
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(m.data);
      };
      child.on('message', onMessage);
      child.send({ kind: 'gc' });
    });
  const readWorkers = ports.workers ? () => askGc<WorkerReading[]>() : undefined;
  const fullGc = kind === 'accept-floor' ? () => askGc<{ heapUsedKb: number }>() : undefined;
  return { name: kind, host: '127.0.0.1', wsPath: '/websocket', ...ports, readWorkers, fullGc, stop: () => stopChild(child) };
}

/** A TCP port of 127.0.0.1 free right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A server the bench did not start. */
export function externalTarget(host: string, ports: Partial<ServerPorts>, wsPath: string): Target {
  return { name: 'external', host, wsPath, ...ports, stop: async () => undefined };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    // Workers get 15 s each to drain (runIMWorkers' shutdownTimeoutMs), in parallel.
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
