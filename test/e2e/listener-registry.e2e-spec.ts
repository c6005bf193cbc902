import { Injectable } from '@nestjs/common';
import { MicroserviceOptions } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { IMModule, IMServer, OnLogin } from '../../lib';
import { IMTestClient, startIMTestingApp, until } from '../../lib/testing';
import { IM_LISTENERS } from '../../lib/transports/listener-registry';

@Injectable()
class AcceptAll {
  @OnLogin()
  login(): number {
    return 0;
  }
}

describe('listener registry', () => {
  it('registers one listener per transport kind, each with its own option key', () => {
    expect(IM_LISTENERS.map((r) => r.kind)).toEqual(['tcp', 'udp', 'ws']);
    expect(new Set(IM_LISTENERS.map((r) => r.name)).size).toBe(IM_LISTENERS.length);
  });

  it('IMServer runs every enabled listener through the contract: ports and connection counts', async () => {
    const im = await startIMTestingApp({ providers: [AcceptAll] });
    try {
      for (const kind of ['tcp', 'udp', 'ws'] as const) {
        const listener = im.server.listener(kind)!;
        expect(listener.kind).toBe(kind);
        expect(listener.port).toBe(im.ports[kind]);
        expect(listener.connectionCount).toBe(0);
      }
      const clients = await Promise.all((['tcp', 'udp', 'ws'] as const).map((kind) => im.login(kind, `user-${kind}`)));
      for (const kind of ['tcp', 'udp', 'ws'] as const) expect(im.server.listener(kind)!.connectionCount).toBe(1);
      clients[0].close();
      clients[2].close();
      await until(() => im.server.listener('tcp')!.connectionCount === 0 && im.server.listener('ws')!.connectionCount === 0);
    } finally {
      await im.close();
    }
  });

  it('leaves a disabled transport out', async () => {
    const im = await startIMTestingApp({ providers: [AcceptAll], im: { udp: false } });
    try {
      expect(im.server.listener('udp')).toBeUndefined();
      expect(im.server.udp).toBeUndefined();
      expect(Object.keys(im.ports).sort()).toEqual(['tcp', 'ws']);
    } finally {
      await im.close();
    }
  });

  it('manualStart: the UDP listener works as a Nest microservice strategy too, and closes with the app', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [IMModule.forRoot({ tcp: false, udp: { port: 0, host: '127.0.0.1' }, ws: false, manualStart: true })],
      providers: [AcceptAll],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: ['error'] });
    const server = app.get(IMServer);
    app.connectMicroservice<MicroserviceOptions>({ strategy: server.udp! });
    await app.init();
    expect(server.ports.udp).toBeUndefined();
    await app.startAllMicroservices();
    expect(server.udp!.port).toBe(server.ports.udp);
    const client = await IMTestClient.connect('udp', server.ports.udp!, { host: '127.0.0.1' });
    expect((await client.login('alice')).code).toBe(0);
    client.close();
    await app.close();
    expect(server.ports.udp).toBeUndefined();
  });
});
