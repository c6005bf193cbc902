/**
 * The terminus health indicator over HTTP: listeners bound, and Redis
 * reachable when the cluster is on (a private redis-server, killed on purpose).
 */
import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Registry } from 'prom-client';
import { IMHealthIndicator } from '../../lib';
import { IMTestingApp, startIMTestingApp } from '../../lib/testing';
import { sample, scrapeUntil } from '../support/prom-text';
import { redisServerAvailable, startRedisServer, TestRedisServer } from '../support/redis-server';
import { RecordingHandlers } from './fixtures/recording-handlers';

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly im: IMHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.im.isHealthy()]);
  }
}

async function getHealth(im: IMTestingApp): Promise<{ status: number; body: { status: string; details: Record<string, { status: string }> } }> {
  const res = await fetch(`http://127.0.0.1:${im.httpPort}/health`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.json() };
}

async function healthUntil(im: IMTestingApp, status: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((await getHealth(im)).status !== status) {
    if (Date.now() > deadline) throw new Error(`/health never answered ${status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const start = (im: object = {}) =>
  startIMTestingApp({
    http: true,
    imports: [TerminusModule.forRoot({ logger: false })],
    controllers: [HealthController],
    providers: [RecordingHandlers, IMHealthIndicator],
    im,
  });

describe('health indicator', () => {
  it('is up while the listeners are bound, down once they are closed', async () => {
    const im = await start();
    try {
      const up = await getHealth(im);
      expect(up.status).toBe(200);
      expect(up.body.details.im).toMatchObject({ status: 'up', listeners: { status: 'up', tcp: im.ports.tcp }, redis: { cluster: false } });
      await im.server.tcp!.close();
      const down = await getHealth(im);
      expect(down.status).toBe(503);
      expect(down.body.details.im).toMatchObject({ status: 'down', listeners: { status: 'down', notListening: ['tcp'] } });
    } finally {
      await im.close();
    }
  });
});

const describeRedis = redisServerAvailable() ? describe : describe.skip;
if (!redisServerAvailable()) console.log('redis-server not installed: skipping the cluster health and metrics tests');

describeRedis('health and metrics of a cluster on a private Redis', () => {
  let redis: TestRedisServer;
  const nodes: IMTestingApp[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    for (const n of nodes) await n.close();
    await redis?.kill();
  });

  it('times requests to other nodes, and goes down while Redis is gone', async () => {
    const registryA = new Registry();
    const cluster = (nodeId: string) => ({ redis: redis.url, nodeId, keyPrefix: `health-${process.pid}:` });
    const a = await start({ cluster: cluster('a'), metrics: { registry: registryA } });
    nodes.push(a);
    const b = await start({ cluster: cluster('b'), metrics: { registry: new Registry() } });
    nodes.push(b);
    expect((await getHealth(a)).body.details.im).toMatchObject({ status: 'up', redis: { status: 'up', cluster: true } });

    const bob = await b.login('tcp', 'bob');
    const alice = await a.login('ws', 'alice');
    // Presence is written after the login response; wait until node a sees bob.
    const deadline = Date.now() + 10_000;
    while (!(await a.push.isOnlineAnywhere('bob'))) {
      if (Date.now() > deadline) throw new Error('bob never appeared in the cluster');
      await new Promise((r) => setTimeout(r, 20));
    }
    alice.c2c('bob', 'across nodes');
    bob.ack(await bob.expect({ type: 2, dataContent: 'across nodes' }));
    await alice.expect({ type: 4 });
    const text = await scrapeUntil(() => registryA.metrics(), 'im_cluster_requests_total{kind="c2c",outcome="answered"}', (v) => v === 1);
    expect(sample(text, 'im_cluster_request_duration_seconds_count{kind="c2c"}')).toBe(1);

    await redis.kill();
    await healthUntil(a, 503);
    expect((await getHealth(a)).body.details.im).toMatchObject({ status: 'down', redis: { status: 'down' }, listeners: { status: 'up' } });
    await redis.restart();
    await healthUntil(a, 200);
  });
});
