/**
 * A cluster node in a child process, for fault tests that pause (SIGSTOP), resume (SIGCONT) or
 * kill (SIGKILL) a real node. The child is this file run with `ts-register.js`: an IM app on
 * free ports of 127.0.0.1 with the e2e suites' RecordingHandlers (token `token-<user>`). The
 * parent asks it over IPC what its handlers saw and its counters.
 */
import { ChildProcess, fork } from 'child_process';
import * as path from 'path';
import type { IMModuleOptions, IMPorts } from '../../lib';
import { IMTestClient } from '../../lib/testing';

/** What the child is started with (sent as JSON in its environment). */
export interface ClusterNodeConfig {
  cluster: NonNullable<IMModuleOptions['cluster']>;
  qos?: IMModuleOptions['qos'];
}

/** The parent's handle on a node process. */
export interface ClusterNodeProcess {
  readonly pid: number;
  readonly ports: IMPorts;
  /** Opens a test client to this node and logs it in (closed by `stop`/`kill`). */
  login(transport: 'tcp' | 'ws' | 'udp', userId: string): Promise<IMTestClient>;
  /** The calls its RecordingHandlers recorded, in order. */
  calls(): Promise<string[]>;
  /** Its `PushService.stats`. */
  stats(): Promise<Record<string, number>>;
  /** SIGSTOP: the process freezes, its sockets stay open. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** SIGKILL, and waits for the exit: a crash, nothing cleaned up. */
  kill(): Promise<void>;
  /** A clean shutdown (SIGTERM; SIGKILL after 10 s), and waits for the exit. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const CONFIG_ENV = 'IM_TEST_CLUSTER_NODE';

/** Forks a node and waits (at most 30 s) until it listens. */
export async function startClusterNode(config: ClusterNodeConfig): Promise<ClusterNodeProcess> {
  const child = fork(__filename, [], {
    execArgv: ['-r', path.join(__dirname, 'ts-register.js')],
    env: { ...process.env, [CONFIG_ENV]: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const clients: IMTestClient[] = [];
  let nextQuery = 1;
  const waiting = new Map<number, (data: unknown) => void>();
  let ports: IMPorts;
  try {
    ports = await new Promise<IMPorts>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('cluster node not ready within 30 s')), 30_000);
      child.once('exit', (code, signal) => reject(new Error(`cluster node exited (${code ?? signal}) before it was ready`)));
      child.on('message', (m: { kind: string; id?: number; data: unknown }) => {
        if (m.kind === 'ready') {
          clearTimeout(timer);
          resolve(m.data as IMPorts);
        } else if (m.kind === 'answer') {
          waiting.get(m.id as number)?.(m.data);
          waiting.delete(m.id as number);
        }
      });
    });
  } catch (err) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw err;
  }
  const ask = <T>(query: string) =>
    new Promise<T>((resolve, reject) => {
      const id = nextQuery++;
      const timer = setTimeout(() => reject(new Error(`cluster node did not answer "${query}" within 5 s`)), 5000);
      waiting.set(id, (data) => {
        clearTimeout(timer);
        resolve(data as T);
      });
      child.send({ kind: 'ask', id, query });
    });
  const closeClients = () => clients.splice(0).forEach((c) => c.close());
  const end = async (signal: NodeJS.Signals) => {
    closeClients();
    if (child.exitCode === null && child.signalCode === null) {
      // A stopped process does not act on SIGTERM until it is continued.
      child.kill('SIGCONT');
      child.kill(signal);
    }
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  };
  return {
    pid: child.pid as number,
    ports,
    async login(transport, userId) {
      const client = await IMTestClient.connect(transport, ports[transport] as number, { host: HOST });
      clients.push(client);
      const res = await client.login(userId);
      if (res.code !== 0) throw new Error(`login of ${userId} refused with code ${res.code}`);
      return client;
    },
    calls: () => ask<string[]>('calls'),
    stats: () => ask<Record<string, number>>('stats'),
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    kill: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
  };
}

/** The child's side. */
async function runNode(config: ClusterNodeConfig): Promise<void> {
  const { startIMTestingApp } = await import('../../lib/testing');
  const { RecordingHandlers } = await import('../e2e/fixtures/recording-handlers');
  const im = await startIMTestingApp({ providers: [RecordingHandlers], im: { cluster: config.cluster, qos: config.qos } });
  const handlers = im.app.get(RecordingHandlers);
  process.on('message', (m: { kind: string; id: number; query: string }) => {
    if (m.kind !== 'ask') return;
    const data = m.query === 'calls' ? handlers.calls : m.query === 'stats' ? im.push.stats : undefined;
    process.send?.({ kind: 'answer', id: m.id, data });
  });
  const stop = () => void im.close().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  // The parent went away (a crashed test run): do not linger.
  process.on('disconnect', stop);
  process.send?.({ kind: 'ready', data: im.ports });
}

if (require.main === module) {
  runNode(JSON.parse(process.env[CONFIG_ENV] as string) as ClusterNodeConfig).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
