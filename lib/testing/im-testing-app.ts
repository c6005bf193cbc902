import { ConsoleLogger, INestApplication, INestApplicationContext, LoggerService, LogLevel, ModuleMetadata } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { IMCore } from '../core/im-core';
import type { TransportKind } from '../protocol/transport-kind';
import { IMModule } from '../im.module';
import { IMModuleOptions } from '../im-options.interface';
import { IMPorts, IMServer } from '../im-server';
import { PushService } from '../push/push.service';
import { IMTestClient, IMTestClientOptions } from './im-test-client';
import { ManualClock } from './manual-clock';

/** Options of {@link startIMTestingApp}. */
export interface IMTestingAppOptions extends Pick<ModuleMetadata, 'imports' | 'providers' | 'controllers'> {
  /** IM options, merged over "every transport on port 0 of 127.0.0.1". */
  im?: IMModuleOptions;
  /** Drive timers by hand: `true` for a fresh {@link ManualClock}, or your own. */
  manualClock?: boolean | ManualClock;
  /** Start a full HTTP application (needs `@nestjs/platform-express`) listening on a free port. */
  http?: boolean;
  /** Called before init, e.g. to add global enhancers to an HTTP application. */
  configure?: (app: INestApplication | TestingModule) => void;
  /** Replace `IMModule.forRoot` (e.g. to test `forRootAsync`); `im` is then ignored. */
  imModule?: ModuleMetadata['imports'];
  /**
   * Where the application logs (a logger, levels, or `false`). Default: Nest's
   * console logger with errors only (every level with `IM_TEST_LOGS=1`),
   * coloured only when stdout and stderr are terminals and `NO_COLOR` is unset.
   */
  logger?: LoggerService | LogLevel[] | false;
}

/** A running Nest application with the IM module, on free ports. */
export interface IMTestingApp {
  readonly moduleRef: TestingModule;
  readonly app: INestApplicationContext;
  readonly server: IMServer;
  readonly push: PushService;
  readonly core: IMCore;
  /** Present with `manualClock`. */
  readonly clock?: ManualClock;
  readonly ports: IMPorts;
  /** HTTP port, with `http: true`. */
  readonly httpPort?: number;
  /** Opens a test client on one transport; it is closed by `close()`. */
  connect(transport: TransportKind, options?: IMTestClientOptions): Promise<IMTestClient>;
  /** Connects and logs in; fails unless the login succeeds. */
  login(transport: TransportKind, userId: string, options?: { token?: string; firstLoginTime?: number }): Promise<IMTestClient>;
  /** Closes every client and the application. */
  close(): Promise<void>;
}

const LOOPBACK = '127.0.0.1';

/**
 * Starts a Nest application with `IMModule` on free ports for a test:
 * `const im = await startIMTestingApp({ providers: [MyHandlers] })`.
 */
export async function startIMTestingApp(options: IMTestingAppOptions = {}): Promise<IMTestingApp> {
  const clock = options.manualClock === true ? new ManualClock() : options.manualClock || undefined;
  const im = options.im ?? {};
  const transport = <T extends object>(o: T | false | undefined, dflt: object) =>
    o === false ? false : { port: 0, host: LOOPBACK, ...dflt, ...o };
  const imModule = options.imModule ?? [
    IMModule.forRoot({
      ...im,
      tcp: transport(im.tcp, {}),
      udp: transport(im.udp, {}),
      ws: transport(im.ws, options.http ? { port: 'http' } : {}),
      clock: clock ?? im.clock,
    }),
  ];
  const moduleRef = await Test.createTestingModule({
    imports: [...imModule, ...(options.imports ?? [])],
    providers: options.providers ?? [],
    controllers: options.controllers ?? [],
  }).compile();
  const logger = options.logger ?? defaultTestLogger();
  moduleRef.useLogger(logger);
  let app: INestApplicationContext = moduleRef;
  let httpPort: number | undefined;
  if (options.http) {
    const httpApp = moduleRef.createNestApplication({ logger });
    options.configure?.(httpApp);
    await httpApp.listen(0, LOOPBACK);
    httpPort = (httpApp.getHttpServer().address() as { port: number }).port;
    app = httpApp;
  } else {
    options.configure?.(moduleRef);
    await moduleRef.init();
  }
  const server = app.get(IMServer);
  const ports = await server.ready;
  const clients = new Set<IMTestClient>();
  const connect = async (kind: TransportKind, o: IMTestClientOptions = {}) => {
    const port = ports[kind];
    if (port === undefined) throw new Error(`${kind} is not enabled`);
    const client = await IMTestClient.connect(kind, port, { host: LOOPBACK, ...o });
    clients.add(client);
    return client;
  };
  return {
    moduleRef,
    app,
    server,
    push: app.get(PushService),
    core: app.get(IMCore),
    clock,
    ports,
    httpPort,
    connect,
    async login(kind, userId, o = {}) {
      const client = await connect(kind);
      const res = await client.login(userId, o);
      if (res.code !== 0) throw new Error(`login of ${userId} refused with code ${res.code}`);
      return client;
    },
    async close() {
      for (const c of clients) c.close();
      await app.close();
    },
  };
}

/** Errors only unless IM_TEST_LOGS is set; no colour codes in redirected output (CI logs, files). */
function defaultTestLogger(): LoggerService {
  const levels: LogLevel[] = process.env.IM_TEST_LOGS ? ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] : ['fatal', 'error'];
  const colors = !process.env.NO_COLOR && process.stdout.isTTY === true && process.stderr.isTTY === true;
  return new ConsoleLogger({ logLevels: levels, colors });
}
