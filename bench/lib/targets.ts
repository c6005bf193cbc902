import { ChildProcess, fork } from 'child_process';
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
}

/** The server under test: started by the bench, or external (`--port`, optional `--pid`). */
export interface Target extends Omit<ServerPorts, 'pid'> {
  /** "nestjs-im", "relay" or "external". */
  name: string;
  host: string;
  wsPath: string;
  /** Process to read CPU and RSS from; none for an external server without `--pid`. */
  pid?: number;
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
}

/** Forks bench/server.js (nestjs-im) or bench/relay-server.js on free loopback ports. */
export async function startServer(kind: 'nestjs-im' | 'relay', options: StartOptions): Promise<Target> {
  const script = path.join(__dirname, '..', kind === 'relay' ? 'relay-server.js' : 'server.js');
  const args = ['--host', '127.0.0.1', '--tcp', '0', '--lifetime', String(Math.ceil(options.lifetimeMs / 1000))];
  if (kind === 'nestjs-im') args.push('--ws', '0', '--udp', '0', '--push', '0', '--transports', options.transports ?? 'tcp,ws,udp');
  if (kind === 'nestjs-im' && options.defaultLimits) args.push('--default-limits');
  if (kind === 'nestjs-im' && options.store) args.push('--store', options.store);
  // --expose-gc lets the connections scenario settle the heap (GET /gc) before reading RSS.
  const execArgv = [...(kind === 'nestjs-im' ? ['--expose-gc'] : []), ...(options.execArgv ?? [])];
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
  return { name: kind, host: '127.0.0.1', wsPath: '/websocket', ...ports, stop: () => stopChild(child) };
}

/** A server the bench did not start. */
export function externalTarget(host: string, ports: Partial<ServerPorts>, wsPath: string): Target {
  return { name: 'external', host, wsPath, ...ports, stop: async () => undefined };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
