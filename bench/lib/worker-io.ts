import { ChildProcess, fork } from 'child_process';
import * as path from 'path';

/** A message between the orchestrator and a generator worker. */
export interface WorkerMessage {
  /** Command (orchestrator → worker) or event (worker → orchestrator). */
  kind: string;
  data?: unknown;
}

/** The generator worker's side: receive commands in order, send events. */
export class WorkerChannel {
  private readonly inbox: WorkerMessage[] = [];
  private waiter?: (m: WorkerMessage) => void;

  constructor() {
    process.on('message', (m: WorkerMessage) => {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w(m);
      } else this.inbox.push(m);
    });
  }

  send(kind: string, data?: unknown): Promise<void> {
    return new Promise((resolve) => process.send?.({ kind, data }, () => resolve()) ?? resolve());
  }

  /** Waits for the next command, which must be `kind`. */
  async next<T = unknown>(kind: string): Promise<T> {
    const m = this.inbox.shift() ?? (await new Promise<WorkerMessage>((r) => (this.waiter = r)));
    if (m.kind !== kind) throw new Error(`expected command ${kind}, got ${m.kind}`);
    return m.data as T;
  }
}

/** The orchestrator's side: a group of generator workers running one scenario. */
export class WorkerGroup {
  /** Node flags for every generator forked from now on (`--generator-prof`: `--cpu-prof`). */
  static execArgv: string[] = [];
  private readonly exits: Promise<number | null>[];
  private readonly inboxes: WorkerMessage[][];
  private readonly waiters: ((m: WorkerMessage) => void)[] = [];
  private readonly closed: (number | null | undefined)[] = [];

  private constructor(private readonly children: ChildProcess[]) {
    this.inboxes = children.map(() => []);
    this.exits = children.map((c, i) =>
      new Promise((resolve) => {
        c.on('message', (m: WorkerMessage) => {
          const w = this.waiters[i];
          if (w) {
            delete this.waiters[i];
            w(m);
          } else this.inboxes[i].push(m);
        });
        // 'close' (not 'exit') comes after the IPC channel is drained, so a last message is never overtaken.
        c.on('close', (code) => {
          this.closed[i] = code;
          const w = this.waiters[i];
          delete this.waiters[i];
          w?.({ kind: 'exit', data: code });
          resolve(code);
        });
      }),
    );
  }

  /** Forks one generator per config; each runs `scenario` with its config and ends by itself. */
  static start(scenario: string, configs: object[], lifetimeMs: number): WorkerGroup {
    const script = path.join(__dirname, '..', 'generator.js');
    const children = configs.map((config) => {
      const child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: WorkerGroup.execArgv });
      child.send({ kind: 'run', data: { scenario, config, lifetimeMs } });
      return child;
    });
    return new WorkerGroup(children);
  }

  get size(): number {
    return this.children.length;
  }

  /** The generator processes' pids (for their CPU readings). */
  get pids(): number[] {
    return this.children.map((c) => c.pid).filter((pid): pid is number => pid !== undefined);
  }

  broadcast(kind: string, data?: unknown): void {
    for (const c of this.children) if (c.connected) c.send({ kind, data });
  }

  /** Waits for event `kind` from every worker; fails on another event, an exit, or the timeout. */
  collect<T>(kind: string, timeoutMs: number): Promise<T[]> {
    let timer: NodeJS.Timeout | undefined;
    const all = Promise.all(this.children.map((_, i) => this.nextFrom(i))).then((ms) =>
      ms.map((m, i) => {
        if (m.kind === 'error') throw new Error(`generator ${i}: ${String(m.data)}`);
        if (m.kind !== kind) throw new Error(`generator ${i}: expected ${kind}, got ${m.kind} ${JSON.stringify(m.data)}`);
        return m.data as T;
      }),
    );
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`generators did not report ${kind} within ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([all, timeout]).finally(() => clearTimeout(timer));
  }

  /** Stops every worker still running (by its own pid) and waits for the exits. */
  async stop(): Promise<void> {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    const killer = setTimeout(() => {
      for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }, 3000);
    await Promise.all(this.exits);
    clearTimeout(killer);
  }

  private nextFrom(i: number): Promise<WorkerMessage> {
    const queued = this.inboxes[i].shift();
    if (queued) return Promise.resolve(queued);
    if (i in this.closed) return Promise.resolve({ kind: 'exit', data: this.closed[i] });
    return new Promise((resolve) => (this.waiters[i] = resolve));
  }
}

/** The i-th source address for generator connections: 127.0.0.2, 127.0.0.3... */
export function sourceAddress(i: number): string {
  return `127.0.0.${2 + (i % 250)}`;
}

/** Splits `total` into `parts` near-equal counts. */
export function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}
