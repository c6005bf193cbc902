import { INestApplicationContext, Logger } from '@nestjs/common';
import cluster, { Worker } from 'cluster';
import type { AddressInfo, Server as NetServer } from 'net';
import { availableParallelism } from 'os';
import { countOpenFds, readOpenFileLimit } from '../core/fd-limit';
import { IM_RESOLVED_OPTIONS } from '../im-module-definition';
import { ResolvedIMOptions } from '../im-options.interface';
import { IMPorts, IMServer } from '../im-server';

/** What each worker is told about itself. */
export interface IMWorkerContext {
  /** 0 … count-1; a restarted worker keeps its index (so "UDP on worker 0" stays true). */
  readonly index: number;
  /** Number of workers. */
  readonly count: number;
}

/** A worker's bound ports, as the primary learns them. */
export interface IMWorkerReady {
  readonly index: number;
  readonly pid: number;
  readonly ports: IMPorts;
  /** Port of the app's HTTP server, if it has one listening. */
  readonly http?: number;
}

export interface IMWorkersOptions {
  /** Worker processes (default `os.availableParallelism()`). Each one should be a cluster node (`cluster` option) of the same Redis. */
  workers?: number;
  /**
   * Runs in every worker: creates the Nest application and makes it listen
   * (`app.listen`, or `init` for an app without HTTP), and returns it. Do not
   * call `enableShutdownHooks()`: the helper closes the app on SIGTERM/SIGINT
   * or when the primary asks, exactly once.
   */
  bootstrap(worker: IMWorkerContext): Promise<INestApplicationContext>;
  /** Primary: called once, when every worker listens (the first time). */
  onReady?(workers: IMWorkerReady[]): void;
  /** Time a worker has to close its app once asked, before it is killed (default 15,000 ms). */
  shutdownTimeoutMs?: number;
  /**
   * A worker that exits on its own after start-up is started again, at most
   * `maxRestarts` times within `restartWindowMs` (default 5 in 60,000 ms);
   * one more and every worker is stopped and `runIMWorkers` resolves `false`.
   */
  maxRestarts?: number;
  restartWindowMs?: number;
  /**
   * A worker whose TCP and WebSocket connections come within 64 of its
   * open-file budget (the limit, less what it holds at start, less
   * `limits.fdReserve`) closes its shared listeners, so the primary hands new
   * connections to the other workers, and listens again 128 below (default
   * `true`; listeners on an explicit port only).
   */
  pauseNearFileLimit?: boolean;
}

/** Messages between the primary and its workers (tagged so an app's own IPC messages pass by). */
type WorkerMessage =
  | { imWorkers: 'ready'; ready: IMWorkerReady }
  | { imWorkers: 'shutdown' };

const INDEX_ENV = 'NESTJS_IM_WORKER_INDEX';
const COUNT_ENV = 'NESTJS_IM_WORKER_COUNT';

/** Whether this process is a worker started by {@link runIMWorkers}. */
export function isIMWorker(): boolean {
  return cluster.isWorker && process.env[INDEX_ENV] !== undefined;
}

/**
 * Runs `workers` processes of one Nest app on this machine with Node's
 * `cluster` module: their TCP, WebSocket and HTTP listeners share each port
 * (the primary accepts and hands connections out round-robin, so a connection
 * stays with the worker that got it). A UDP socket is not shared that way
 * usefully (datagrams of one peer would reach any worker): bind UDP in one
 * worker only (`index === 0`) or on a port per worker. The primary runs no
 * app; SIGTERM or SIGINT to it closes every worker's app (drain), then
 * resolves. Call it as the whole entry point, in the primary and the workers
 * alike: in the primary it resolves `true` when every worker closed cleanly,
 * in a worker it never resolves (the worker exits when its app is closed).
 */
export function runIMWorkers(options: IMWorkersOptions): Promise<boolean> {
  if (isIMWorker()) return runWorker(options);
  return new WorkerPrimary(validate(options)).run();
}

type Resolved = Required<Omit<IMWorkersOptions, 'onReady'>> & Pick<IMWorkersOptions, 'onReady'>;

function validate(o: IMWorkersOptions): Resolved {
  // `??` rather than a spread: an explicit `undefined` means the default too.
  const r: Resolved = {
    ...o,
    workers: o.workers ?? availableParallelism(),
    shutdownTimeoutMs: o.shutdownTimeoutMs ?? 15_000,
    maxRestarts: o.maxRestarts ?? 5,
    restartWindowMs: o.restartWindowMs ?? 60_000,
    pauseNearFileLimit: o.pauseNearFileLimit ?? true,
  };
  const problems: string[] = [];
  const check = (name: keyof Resolved, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const v = r[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) problems.push(`${name} must be an integer in ${min}..${max}, got ${String(v)}`);
  };
  check('workers', 1, 256);
  check('shutdownTimeoutMs', 1);
  check('maxRestarts', 0);
  check('restartWindowMs', 1);
  if (typeof r.bootstrap !== 'function') problems.push('bootstrap must be a function');
  if (typeof r.pauseNearFileLimit !== 'boolean') problems.push(`pauseNearFileLimit must be a boolean, got ${String(r.pauseNearFileLimit)}`);
  if (problems.length) throw new Error(`runIMWorkers: ${problems.join('; ')}`);
  return r;
}

/** The primary: forks the workers, checks that they share ports, restarts crashed ones, drains them on a signal. */
class WorkerPrimary {
  private readonly logger = new Logger('IMWorkers');
  private readonly slots: (Worker | undefined)[];
  private readonly ready = new Map<number, IMWorkerReady>();
  private readonly restarts: number[] = [];
  private started = false;
  private stopping = false;
  private clean = true;
  private resolveDone!: (clean: boolean) => void;

  constructor(private readonly o: Resolved) {
    this.slots = new Array<Worker | undefined>(o.workers).fill(undefined);
  }

  run(): Promise<boolean> {
    const done = new Promise<boolean>((resolve) => (this.resolveDone = resolve));
    const onSignal = (signal: NodeJS.Signals) => this.shutdown(`${signal} received`, true);
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    for (let i = 0; i < this.o.workers; i++) this.fork(i);
    return done.finally(() => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    });
  }

  private fork(index: number): void {
    const worker = cluster.fork({ [INDEX_ENV]: String(index), [COUNT_ENV]: String(this.o.workers) });
    this.slots[index] = worker;
    worker.on('message', (m: WorkerMessage) => {
      if (m?.imWorkers === 'ready') this.onWorkerReady(m.ready);
    });
    worker.on('exit', (code, signal) => this.onWorkerExit(index, worker, code, signal));
  }

  private onWorkerReady(ready: IMWorkerReady): void {
    this.ready.set(ready.index, ready);
    // Shared listeners must be the same sockets in every worker; a port-0 listener bound in a
    // different order in one worker would silently serve the wrong protocol on a port.
    const first = this.ready.values().next().value as IMWorkerReady;
    const shared = (r: IMWorkerReady) => `tcp=${r.ports.tcp} ws=${r.ports.ws} http=${r.http}`;
    if (shared(ready) !== shared(first)) {
      this.logger.error(`worker ${ready.index} listens on ${shared(ready)}, worker ${first.index} on ${shared(first)}: shared listeners must bind in the same order on the same ports`);
      this.shutdown('workers disagree on their ports', false);
      return;
    }
    if (this.started) {
      this.logger.log(`worker ${ready.index} (pid ${ready.pid}) listening again`);
      return;
    }
    if (this.ready.size === this.o.workers) {
      this.started = true;
      this.logger.log(`${this.o.workers} workers listening ${shared(ready)} (pids ${[...this.ready.values()].map((r) => r.pid).join(', ')})`);
      this.o.onReady?.([...this.ready.values()].sort((a, b) => a.index - b.index));
    }
  }

  private onWorkerExit(index: number, worker: Worker, code: number | null, signal: string | null): void {
    if (this.slots[index] === worker) this.slots[index] = undefined;
    this.ready.delete(index);
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (this.stopping) {
      if (code !== 0) this.clean = false;
      if (code !== 0) this.logger.warn(`worker ${index} (pid ${worker.process.pid}) ended with ${how}`);
      if (this.slots.every((w) => !w)) this.resolveDone(this.clean);
      return;
    }
    // A worker that fails before all listen is a start-up error (a busy port, bad config): restarting would loop.
    if (!this.started) {
      this.logger.error(`worker ${index} (pid ${worker.process.pid}) exited with ${how} during start-up; stopping`);
      this.shutdown('a worker failed to start', false);
      return;
    }
    const now = Date.now();
    while (this.restarts.length && now - this.restarts[0] > this.o.restartWindowMs) this.restarts.shift();
    if (this.restarts.length >= this.o.maxRestarts) {
      this.logger.error(`worker ${index} (pid ${worker.process.pid}) exited with ${how}; ${this.restarts.length} restarts within ${this.o.restartWindowMs} ms already (maxRestarts): stopping`);
      this.shutdown('too many restarts', false);
      return;
    }
    this.restarts.push(now);
    this.logger.warn(`worker ${index} (pid ${worker.process.pid}) exited with ${how}; starting it again`);
    this.fork(index);
  }

  /** Asks every worker to close its app; kills those that take longer than `shutdownTimeoutMs`. */
  private shutdown(reason: string, clean: boolean): void {
    if (!clean) this.clean = false;
    if (this.stopping) return;
    this.stopping = true;
    this.logger.log(`stopping ${this.slots.filter(Boolean).length} workers: ${reason}`);
    if (this.slots.every((w) => !w)) return this.resolveDone(this.clean);
    const killer = setTimeout(() => {
      for (const [i, w] of this.slots.entries()) {
        if (!w) continue;
        this.logger.error(`worker ${i} (pid ${w.process.pid}) did not close within ${this.o.shutdownTimeoutMs} ms; killing it`);
        w.process.kill('SIGKILL');
      }
    }, this.o.shutdownTimeoutMs);
    killer.unref();
    for (const w of this.slots) {
      if (!w) continue;
      // A message rather than a signal: a worker that got SIGINT from the terminal too closes once either way.
      if (w.isConnected()) w.send({ imWorkers: 'shutdown' } satisfies WorkerMessage);
      else w.process.kill('SIGTERM');
    }
  }
}

/** A worker: starts the app, reports its ports, closes the app once on request or signal, then exits. */
async function runWorker(options: IMWorkersOptions): Promise<never> {
  const logger = new Logger('IMWorkers');
  const context: IMWorkerContext = { index: Number(process.env[INDEX_ENV]), count: Number(process.env[COUNT_ENV]) };
  let app: INestApplicationContext | undefined;
  let closing: Promise<void> | undefined;
  const close = (why: string) => {
    closing ??= (async () => {
      logger.log(`worker ${context.index}: closing (${why})`);
      let code = 0;
      try {
        await app?.close();
      } catch (err) {
        logger.error(`worker ${context.index}: close failed: ${(err as Error).message}`);
        code = 1;
      }
      process.exit(code);
    })();
  };
  // Registered before bootstrap, so a signal during start-up still ends in one close.
  process.on('SIGTERM', () => close('SIGTERM'));
  process.on('SIGINT', () => close('SIGINT'));
  process.on('message', (m: WorkerMessage) => {
    if (m?.imWorkers === 'shutdown') close('asked by the primary');
  });
  try {
    app = await options.bootstrap(context);
    const ports = await app.get(IMServer).ready;
    if (closing) return new Promise<never>(() => undefined);
    const httpServer = (app as { getHttpServer?: () => { address(): AddressInfo | string | null } }).getHttpServer?.();
    const address = httpServer?.address();
    const ready: IMWorkerReady = {
      index: context.index,
      pid: process.pid,
      ports,
      http: address && typeof address === 'object' ? address.port : undefined,
    };
    process.send?.({ imWorkers: 'ready', ready } satisfies WorkerMessage);
    if (options.pauseNearFileLimit !== false) pauseNearFileLimit(app, context.index, logger, () => closing !== undefined);
  } catch (err) {
    logger.error(`worker ${context.index} failed to start: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  }
  return new Promise<never>(() => undefined);
}

/** A worker stops taking connections this many before its open-file limit bites, and takes them again twice as many below. */
const PAUSE_MARGIN = 64;
/** How often a paused worker checks whether it may take connections again. */
const PAUSE_CHECK_MS = 100;

/**
 * Node's round-robin hands connections out by turns, so under load one worker
 * can reach its open-file limit while another has room. Near the limit this
 * worker stops listening on the shared TCP and WebSocket ports (a worker that
 * closes its listener leaves the primary's rotation; its connections stay),
 * and listens again once connections closed. Only for listeners on an explicit
 * port (a port-0 listener could not be joined again on the same port) and not
 * for the WebSocket gateway on the app's HTTP server.
 */
function pauseNearFileLimit(app: INestApplicationContext, index: number, logger: Logger, closing: () => boolean): void {
  const fdLimit = readOpenFileLimit();
  if (fdLimit === undefined) return;
  const options = app.get<ResolvedIMOptions>(IM_RESOLVED_OPTIONS);
  const im = app.get(IMServer);
  const listeners: { server: NetServer; port: number; host?: string; backlog?: number }[] = [];
  const tcp = im.listener('tcp')?.acceptingServer?.();
  if (tcp && options.tcp && options.tcp.port > 0) listeners.push({ server: tcp, port: options.tcp.port, host: options.tcp.host, backlog: options.tcp.backlog });
  const ws = im.listener('ws')?.acceptingServer?.();
  if (ws && options.ws && typeof options.ws.port === 'number' && options.ws.port > 0) listeners.push({ server: ws, port: options.ws.port, host: options.ws.host });
  if (!listeners.length) return;
  // What the process holds now (modules, Redis, listeners) stays; the IM core refuses past the reserve.
  const capacity = fdLimit - countOpenFds() - options.limits.fdReserve;
  // Too small a budget to pause and resume sensibly: the IM core's own refusal is all there is.
  if (capacity < 4 * PAUSE_MARGIN) return;
  let paused = false;
  // The count Node keeps per server (getConnections() is its async form).
  const open = () => listeners.reduce((n, l) => n + (l.server as unknown as { _connections: number })._connections, 0);
  // Checked on every accepted connection, so the pause never overshoots the limit.
  const onConnection = () => {
    if (paused || closing() || open() < capacity - PAUSE_MARGIN) return;
    paused = true;
    logger.warn(`worker ${index}: ${open()} connections, near its open-file limit (${fdLimit}): not taking new ones; the other workers do`);
    for (const l of listeners) l.server.close();
  };
  for (const l of listeners) l.server.on('connection', onConnection);
  const timer = setInterval(() => {
    // Never listen again once the app is closing.
    if (closing()) return clearInterval(timer);
    if (!paused || open() >= capacity - 2 * PAUSE_MARGIN) return;
    paused = false;
    logger.log(`worker ${index}: ${open()} connections: taking new ones again`);
    for (const l of listeners) l.server.listen({ port: l.port, host: l.host, backlog: l.backlog });
  }, PAUSE_CHECK_MS);
  timer.unref();
}
