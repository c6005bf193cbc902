/**
 * A load-generator worker process, forked by the orchestrator (lib/worker-io.ts).
 * It runs one scenario's client side and exits by itself: when done, when the
 * orchestrator goes away, or when its lifetime is over.
 */
import { WorkerChannel } from './lib/worker-io';
import { abuseWorker } from './scenarios/abuse-worker';
import { connectionsWorker } from './scenarios/connections-worker';
import { messagingWorker } from './scenarios/messaging-worker';
import { pushWorker } from './scenarios/push-worker';
import { soakWorker } from './scenarios/soak-worker';

type ScenarioWorker = (channel: WorkerChannel, config: never) => Promise<void>;

const WORKERS: Record<string, ScenarioWorker> = {
  messaging: messagingWorker,
  connections: connectionsWorker,
  push: pushWorker,
  abuse: abuseWorker,
  soak: soakWorker,
};

interface RunCommand {
  scenario: string;
  config: never;
  lifetimeMs: number;
}

const channel = new WorkerChannel();
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

channel
  .next<RunCommand>('run')
  .then(async ({ scenario, config, lifetimeMs }) => {
    setTimeout(() => {
      console.error(`[generator ${process.pid}] lifetime of ${lifetimeMs} ms exceeded; exiting`);
      process.exit(3);
    }, lifetimeMs).unref();
    const worker = WORKERS[scenario];
    if (!worker) throw new Error(`unknown scenario ${scenario}`);
    await worker(channel, config);
    process.exit(0);
  })
  .catch(async (err: Error) => {
    await channel.send('error', err.stack ?? String(err));
    process.exit(1);
  });
