import { INestApplication, INestApplicationContext, LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import * as dgram from 'dgram';
import * as net from 'net';
import { IMListenError, IMModule, IMModuleOptions, IMServer } from '../../lib';

const HOST = '127.0.0.1';

/** Collects what Nest's logger is given, so a test can assert on the error line. */
class CapturingLogger implements LoggerService {
  readonly errors: string[] = [];
  log(): void {}
  warn(): void {}
  error(message: unknown): void {
    this.errors.push(String(message));
  }
}

function occupyTcp(): Promise<{ port: number; close: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject).listen(0, HOST, () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({ port, close: () => new Promise<void>((done) => server.close(() => done())) });
    });
  });
}

function occupyUdp(): Promise<{ port: number; close: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', reject).bind(0, HOST, () => {
      resolve({ port: socket.address().port, close: () => new Promise<void>((done) => socket.close(() => done())) });
    });
  });
}

const free = { port: 0, host: HOST };

async function startOn(im: IMModuleOptions, logger: CapturingLogger): Promise<{ error: unknown; app: INestApplicationContext }> {
  const moduleRef = await Test.createTestingModule({ imports: [IMModule.forRoot(im)] }).compile();
  moduleRef.useLogger(logger);
  const error = await moduleRef.init().then(
    () => undefined,
    (err: unknown) => err,
  );
  return { error, app: moduleRef };
}

describe('a port in use at start-up', () => {
  it.each([
    ['TCP', 'tcp.port', occupyTcp, (port: number) => ({ tcp: { port, host: HOST }, udp: free, ws: free })],
    ['UDP', 'udp.port', occupyUdp, (port: number) => ({ tcp: free, udp: { port, host: HOST }, ws: free })],
    ['WebSocket', 'ws.port', occupyTcp, (port: number) => ({ tcp: free, udp: free, ws: { port, host: HOST } })],
  ] as const)('fails the %s listener with a message naming it, the port and %s', async (listener, option, occupy, options) => {
    const taken = await occupy();
    const logger = new CapturingLogger();
    const { error, app } = await startOn(options(taken.port), logger);
    try {
      expect(error).toBeInstanceOf(IMListenError);
      const message = (error as IMListenError).message;
      expect(message).toContain('IM_PORT_IN_USE');
      expect(message).toContain(`the ${listener} listener cannot listen on ${HOST}:${taken.port}`);
      expect(message).toContain(`Change ${option}`);
      expect((error as IMListenError).id).toBe('IM_PORT_IN_USE');
      // Logged once through Nest's logger, and nothing left bound by the listeners that did start.
      expect(logger.errors.filter((line) => line.includes('IM_PORT_IN_USE'))).toEqual([message]);
      expect(app.get(IMServer).ports).toEqual({ tcp: undefined, udp: undefined, ws: undefined });
    } finally {
      await taken.close();
      // After a failed init Nest's close() rethrows that error and runs no hook; IMServer has released everything.
      await app.close().catch(() => undefined);
    }
  });

  it("explains the day-one clash: the Nest HTTP server asked for the WebSocket listener's port", async () => {
    const logger = new CapturingLogger();
    const moduleRef = await Test.createTestingModule({ imports: [IMModule.forRoot({ tcp: false, udp: false, ws: free })] }).compile();
    const app: INestApplication = moduleRef.createNestApplication({ logger });
    try {
      await app.init();
      const wsPort = (await app.get(IMServer).ready).ws as number;
      await expect(app.listen(wsPort, HOST)).rejects.toThrow(/EADDRINUSE/);
      expect(logger.errors).toContainEqual(
        `IM_PORT_IN_USE: the Nest HTTP server cannot listen on port ${wsPort}: nestjs-im's WebSocket listener holds it. ` +
          "Change ws.port ('http' shares the HTTP server) or the port given to app.listen().",
      );
    } finally {
      await app.close();
    }
  });
});
