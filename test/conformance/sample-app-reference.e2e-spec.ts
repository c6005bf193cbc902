/**
 * The sample app started with IM_DEMO=reference must behave like the
 * MobileIMSDK demo server: every `core` scenario passes against it as recorded.
 * The `timing` ones exercise the same library core as conformance.e2e-spec.ts
 * and are left to that suite to keep this one short.
 */
import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { IMServer } from '../../lib';
import { AppModule } from '../../sample-app/app.module';
import { loadScenarios, runScenario, ServerAddress } from './scenario-runner';
import { SCENARIO_DIR } from './scenario-dir';

const HOST = '127.0.0.1';
const core = loadScenarios(SCENARIO_DIR).filter((s) => s.tags.includes('core') && !s.tags.includes('timing'));

describe('sample app in IM_DEMO=reference mode replays the core scenarios', () => {
  let app: INestApplication;
  let server: ServerAddress;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [AppModule.register({ tcpPort: 0, udpPort: 0, wsPort: 0, httpPort: 0, host: HOST, demo: 'reference' })],
    }).compile();
    app = moduleRef.createNestApplication({ logger: process.env.IM_TEST_LOGS ? undefined : false });
    await app.listen(0, HOST);
    const { tcp, udp, ws } = await app.get(IMServer).ready;
    server = { host: HOST, ports: { tcp: tcp!, udp: udp!, ws: ws! } };
  });
  afterAll(() => app?.close());

  it('has core scenarios to replay', () => {
    expect(core.length).toBeGreaterThan(25);
  });

  for (const scenario of core) {
    it(scenario.name, () => runScenario(scenario, server), 30_000);
  }
});
