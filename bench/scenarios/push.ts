import { getJson } from '../lib/http';
import { Transport } from '../lib/links';
import { Target } from '../lib/targets';
import { WorkerGroup } from '../lib/worker-io';
import { loginWorkerConfigs } from './connections';
import { PushWorkerResult } from './push-worker';

export type PushMode = 'sendMany' | 'broadcast';

export interface PushOptions {
  transport: Transport;
  users: number;
  /** One push per entry, in order. */
  modes: PushMode[];
  bodyBytes: number;
  /** Connections opened per second while logging the users in. */
  rate: number;
  perWorker: number;
  keepaliveMs: number;
}

export interface PushRound {
  mode: PushMode;
  users: number;
  /** Server side: PushService call until every result settled (all ACKed). */
  elapsedMs: number;
  pushesPerSec: number;
  statuses: Record<string, number>;
  /** Client side: receipts of this push, and the last one after the trigger. */
  received: number;
  lastReceiptMs: number;
}

export interface PushResult {
  label: string;
  options: PushOptions;
  loggedIn: number;
  loginFailures: number;
  rounds: PushRound[];
  dups: number;
  unexpectedCloses: number;
  notes: string[];
}

interface TriggerReply {
  users: number;
  fp?: string;
  elapsedMs: number;
  statuses: Record<string, number>;
  error?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Logs N users in over several generators, then has the bench server push to all of them. */
export async function runPush(target: Target, o: PushOptions): Promise<PushResult> {
  const port = target[o.transport];
  if (!port || !target.push) throw new Error('push needs the bench server (bench/server.js) with its push trigger');
  const prefix = `push${process.pid % 1000}-`;
  const configs = loginWorkerConfigs(target, port, o.transport, {
    users: o.users, perWorker: o.perWorker, rate: o.rate, keepaliveMs: o.keepaliveMs, userPrefix: prefix,
  });
  const loginBudgetMs = (o.users / o.rate) * 1000 + 60_000;
  const group = WorkerGroup.start('push', configs, loginBudgetMs + o.modes.length * 30_000 + 60_000);
  try {
    const ready = await group.collect<{ loggedIn: number; loginFailures: number; failureSamples: string[] }>('ready', loginBudgetMs);
    const replies: { mode: PushMode; at: number; reply: TriggerReply }[] = [];
    for (const mode of o.modes) {
      await sleep(500);
      const at = performance.timeOrigin + performance.now();
      const base = `http://${target.host}:${target.push}`;
      const url = mode === 'broadcast' ? `${base}/broadcast?bytes=${o.bodyBytes}` : `${base}/push?count=${o.users}&prefix=${prefix}&bytes=${o.bodyBytes}`;
      const reply = await getJson<TriggerReply>(url, 30_000);
      if (reply.error) throw new Error(`push trigger: ${reply.error}`);
      replies.push({ mode, at, reply });
    }
    await sleep(300);
    group.broadcast('finish');
    const results = await group.collect<PushWorkerResult>('result', 30_000);
    const rounds = replies.map(({ mode, at, reply }) => {
      const mine = results.flatMap((r) => r.rounds.filter((x) => x.fp === reply.fp));
      return {
        mode,
        users: reply.users,
        elapsedMs: reply.elapsedMs,
        pushesPerSec: reply.users / (reply.elapsedMs / 1000),
        statuses: reply.statuses,
        received: mine.reduce((a, x) => a + x.received, 0),
        lastReceiptMs: mine.length ? Math.max(...mine.map((x) => x.last)) - at : NaN,
      };
    });
    return {
      label: `${o.transport.toUpperCase()} push to ${o.users.toLocaleString('en-US')} users`,
      options: o,
      loggedIn: ready.reduce((a, r) => a + r.loggedIn, 0),
      loginFailures: ready.reduce((a, r) => a + r.loginFailures, 0),
      rounds,
      dups: results.reduce((a, r) => a + r.dups, 0),
      unexpectedCloses: results.reduce((a, r) => a + r.unexpectedCloses, 0),
      notes: ready.flatMap((r) => r.failureSamples).slice(0, 5),
    };
  } finally {
    await group.stop();
  }
}
