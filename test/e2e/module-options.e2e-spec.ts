import { Injectable } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { MicroserviceOptions } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { IMModule, IMServer, OnLogin, PushService } from '../../lib';
import { IMTestClient, startIMTestingApp } from '../../lib/testing';

@Injectable()
class AcceptAll {
  @OnLogin()
  login(): number {
    return 0;
  }
}

describe('module options', () => {
  it('forRootAsync takes every listener option from ConfigService', async () => {
    const im = await startIMTestingApp({
      providers: [AcceptAll],
      imModule: [
        IMModule.forRootAsync({
          imports: [ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ IM_HOST: '127.0.0.1', IM_SENSE: '3S', IM_MAX_FRAME: 300 })] })],
          inject: [ConfigService],
          useFactory: (config: ConfigService) => ({
            tcp: { port: 0, host: config.get('IM_HOST'), senseMode: config.get('IM_SENSE'), maxFrameBytes: config.get('IM_MAX_FRAME') },
            udp: false,
            ws: { port: 0, host: config.get('IM_HOST'), path: '/im' },
          }),
        }),
      ],
    });
    try {
      expect(im.ports.udp).toBeUndefined();
      const a = await im.connect('tcp');
      await a.login('alice');
      a.sendText(`{"type":5,"dataContent":"${'x'.repeat(300)}"}`);
      await a.expectClosed();
      const w = await im.connect('ws', { path: '/im?token=abc' });
      expect((await w.login('bob')).code).toBe(0);
      await expect(im.connect('ws', { path: '/websocket' })).rejects.toThrow(/404/);
    } finally {
      await im.close();
    }
  });

  it('isGlobal makes PushService injectable everywhere', async () => {
    @Injectable()
    class Notifier {
      constructor(readonly push: PushService) {}
    }
    const moduleRef = await Test.createTestingModule({
      imports: [IMModule.forRoot({ isGlobal: true, tcp: false, udp: false, ws: false, manualStart: true })],
      providers: [Notifier],
    }).compile();
    expect(moduleRef.get(Notifier).push).toBeInstanceOf(PushService);
    await moduleRef.close();
  });

  it('manualStart leaves the listeners to the application: the TCP transport works as a Nest microservice strategy', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [IMModule.forRoot({ tcp: { port: 0, host: '127.0.0.1' }, udp: false, ws: false, manualStart: true })],
      providers: [AcceptAll],
    }).compile();
    moduleRef.useLogger(['error']);
    const app = moduleRef.createNestApplication({ logger: ['error'] });
    const server = app.get(IMServer);
    app.connectMicroservice<MicroserviceOptions>({ strategy: server.tcp! });
    await app.init();
    expect(server.ports.tcp).toBeUndefined();
    await app.startAllMicroservices();
    const client = await IMTestClient.connect('tcp', server.ports.tcp!);
    expect((await client.login('alice')).code).toBe(0);
    client.close();
    await app.close();
  });

  it('shares the Nest HTTP server for WebSocket with ws.port "http"', async () => {
    const im = await startIMTestingApp({ providers: [AcceptAll], http: true });
    try {
      expect(im.ports.ws).toBe(im.httpPort);
      const w = await im.connect('ws');
      expect((await w.login('alice')).code).toBe(0);
      const res = await fetch(`http://127.0.0.1:${im.httpPort}/nothing-here`);
      expect(res.status).toBe(404);
    } finally {
      await im.close();
    }
  });

  it('binds UDP over IPv6 when asked', async () => {
    const im = await startIMTestingApp({ providers: [AcceptAll], im: { udp: { ipv6: true, host: '::1' }, tcp: false, ws: false } });
    try {
      const u = await IMTestClient.connect('udp', im.ports.udp!, { host: '::1' });
      expect((await u.login('v6')).code).toBe(0);
      u.close();
    } finally {
      await im.close();
    }
  });
});
