import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'net';
import { IMPorts, IMServer, TransportKind } from '../../lib';
import { IMTestClient } from '../../lib/testing';
import { AppConfig } from '../../sample-app/app.config';
import { AppModule } from '../../sample-app/app.module';

const HOST = '127.0.0.1';

/** The sample app on free ports of 127.0.0.1, with seed-user logins and HTTP helpers. */
export interface RunningSample {
  readonly app: INestApplication;
  readonly ports: IMPorts;
  /** `http://127.0.0.1:<port>` */
  readonly http: string;
  /** Logs a seed user in (token `<user>-secret`); the client is closed by `close()`. */
  login(userId: string, transport: TransportKind): Promise<IMTestClient>;
  close(): Promise<void>;
}

/** Starts the real AppModule as main.ts does, on port 0 everywhere. */
export async function startSampleApp(overrides: Partial<AppConfig> = {}): Promise<RunningSample> {
  const config: AppConfig = { tcpPort: 0, udpPort: 0, wsPort: 0, httpPort: 0, host: HOST, ...overrides };
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.register(config)] }).compile();
  const app = moduleRef.createNestApplication({ logger: process.env.IM_TEST_LOGS ? undefined : false });
  await app.listen(0, HOST);
  const ports = await app.get(IMServer).ready;
  const { port } = app.getHttpServer().address() as AddressInfo;
  const clients: IMTestClient[] = [];
  return {
    app,
    ports,
    http: `http://${HOST}:${port}`,
    async login(userId, transport) {
      const client = await IMTestClient.connect(transport, ports[transport] as number, { host: HOST });
      clients.push(client);
      const res = await client.login(userId, { token: `${userId}-secret` });
      if (res.code !== 0) throw new Error(`login of ${userId} refused with ${res.code}`);
      return client;
    },
    async close() {
      for (const c of clients) c.close();
      await app.close();
    },
  };
}
