import { HttpException, Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { ExternalContextCreator } from '@nestjs/core/helpers/external-context-creator';
import { exceptionFiltersOf } from '../nest-internals';
import { HookVerdict, IMCoreHooks, IMRefusal, isRefusal, refusal } from '../core/core-hooks';
import { IMCore } from '../core/im-core';
import { Session } from '../core/session';
import { IM_HANDLER_METADATA, IMHandlerMetadata } from '../decorators/im-handler.decorators';
import { IM_PARAMS_METADATA } from '../decorators/im-param.decorators';
import { IMErrors } from '../errors/im-error-codes';
import { IMException } from '../errors/im.exception';
import { Packet } from '../protocol/packet';
import { IM_CONTEXT_TYPE, IMEventContext, IMEventName } from '../decorators/im-event-context';
import { IMParamsFactory } from './im-params.factory';
import { IM_RESOLVED_OPTIONS } from '../im-module-definition';
import { ResolvedIMOptions } from '../im-options.interface';
import { logText } from '../core/log-text';
import { throttleOf } from '../core/abuse-log';
import { LogThrottle } from '../core/log-throttle';

/** One discovered handler, wrapped in Nest's guards, pipes, interceptors and filters. */
interface BoundHandler {
  readonly name: string;
  readonly typeu?: Set<number>;
  readonly call: (subject: unknown, session: Session | null, ctx: IMEventContext) => Promise<unknown>;
}

type HandlerTable = Record<IMEventName, BoundHandler[]>;

/**
 * Finds methods decorated with the IM handler decorators on every provider and
 * controller (DiscoveryService + MetadataScanner), wraps each with
 * `ExternalContextCreator` so Nest enhancers apply with context type `'im'`,
 * and installs them in the core as {@link IMCoreHooks}.
 */
@Injectable()
export class IMHandlerExplorer implements OnModuleInit {
  private readonly logger = new Logger('IMHandlerExplorer');
  private readonly paramsFactory: IMParamsFactory;
  /** Per handler: lets one unexpected-error line through per abuse-log interval. */
  private readonly errorLogged = new Map<string, LogThrottle>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly contextCreator: ExternalContextCreator,
    private readonly core: IMCore,
    @Inject(IM_RESOLVED_OPTIONS) private readonly options: ResolvedIMOptions,
  ) {
    this.paramsFactory = new IMParamsFactory(options.limits.jsonMaxDepth);
  }

  onModuleInit(): void {
    const table = this.discover();
    this.core.setHooks(this.buildHooks(table));
    if (table.login.length === 0) {
      this.logger.warn('no @OnLogin handler is registered: every login will be refused');
    }
  }

  private discover(): HandlerTable {
    const table: HandlerTable = {
      login: [], loginSuccess: [], logout: [], beforeC2S: [], c2s: [],
      c2c: [], c2cDelivered: [], c2cOffline: [], messagesLost: [], messageDelivered: [],
    };
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object') continue;
      const proto = Object.getPrototypeOf(instance);
      for (const methodName of this.scanner.getAllMethodNames(proto)) {
        const method = instance[methodName] as (...args: unknown[]) => unknown;
        const meta = this.reflector.get<IMHandlerMetadata | undefined>(IM_HANDLER_METADATA, method);
        if (!meta) continue;
        const name = `${instance.constructor.name}.${methodName}`;
        if (!wrapper.isDependencyTreeStatic()) {
          this.logger.warn(`${name}: request-scoped providers cannot handle IM events; skipped`);
          continue;
        }
        const typeu = meta.options.typeu;
        table[meta.event].push({
          name,
          typeu: typeu === undefined ? undefined : new Set(Array.isArray(typeu) ? typeu : [typeu]),
          call: this.wrap(instance, method, methodName, name),
        });
        this.logger.log(`${name} handles ${meta.event}`);
      }
    }
    return table;
  }

  /**
   * Wraps a handler in guards, pipes and interceptors, then applies the
   * handler's own exception filters (`@UseFilters`, global filters) and maps
   * whatever is left to a refusal. Nest's default external filter would log
   * every HttpException at ERROR, so a client sending invalid payloads could
   * flood the logs; here only unexpected errors are logged.
   */
  private wrap(instance: object, method: (...args: unknown[]) => unknown, methodName: string, name: string) {
    const target = this.contextCreator.create(
      instance, method, methodName, IM_PARAMS_METADATA, this.paramsFactory,
      undefined, undefined, { guards: true, interceptors: true, filters: false }, IM_CONTEXT_TYPE,
    );
    const filters = exceptionFiltersOf(this.contextCreator, instance, method);
    return async (subject: unknown, session: Session | null, ctx: IMEventContext): Promise<unknown> => {
      try {
        return await target(subject, session, ctx);
      } catch (err) {
        let error = err;
        if (filters) {
          const host = new ExecutionContextHost([subject, session, ctx]);
          host.setType(IM_CONTEXT_TYPE);
          try {
            const handled = filters.invokeCustomFilters(err, host);
            if (handled !== null && handled !== undefined) return await handled;
          } catch (rethrown) {
            error = rethrown;
          }
        }
        return this.toRefusal(error, name);
      }
    };
  }

  /** Maps what a handler threw to a refusal the core can put on the wire. */
  private toRefusal(err: unknown, name: string): IMRefusal {
    if (err instanceof IMException) return refusal(err.code, err.message);
    if (err instanceof HttpException) {
      const status = err.getStatus();
      const response = err.getResponse() as { message?: string | string[] } | string;
      const message = typeof response === 'string' ? response : [response.message ?? err.message].flat().join('; ');
      // A guard's ForbiddenException and HTTP 4xx map to the same numbers in the IM registry band.
      return refusal(status === 403 ? IMErrors.FORBIDDEN.wireCode : status, message);
    }
    this.logHandlerError(name, err);
    return refusal(IMErrors.HANDLER_FAILED.wireCode, IMErrors.HANDLER_FAILED.message());
  }

  /** Logs a handler's unexpected error with its stack, at most once per handler per abuse-log interval. */
  private logHandlerError(name: string, err: unknown): void {
    const throttle = throttleOf(this.errorLogged, name, this.options.limits.abuseLogIntervalMs);
    const line = throttle.next(`${name} failed: ${logText((err as Error)?.message ?? err)}`, this.core.clock.now());
    if (line !== undefined) this.logger.error(line, (err as Error)?.stack);
  }

  private buildHooks(t: HandlerTable): IMCoreHooks {
    const hooks: IMCoreHooks = {};
    if (t.login.length) {
      hooks.verifyLogin = async (info, session, packet) => {
        const ctx: IMEventContext = { event: 'login', packet, session, userId: info.loginUserId, loginInfo: info };
        for (const h of t.login) {
          const code = loginCode(await h.call(info, session, ctx));
          if (code !== 0) return code;
        }
        return 0;
      };
    }
    if (t.loginSuccess.length) {
      hooks.loginSuccess = (userId, _extra, session) =>
        all(t.loginSuccess, userId, session, { event: 'loginSuccess', session, userId });
    }
    if (t.logout.length) {
      hooks.logout = (userId, session, kickCode) =>
        all(t.logout, userId, session, { event: 'logout', session, userId, kickCode });
    }
    if (t.beforeC2S.length) hooks.beforeC2S = (p, s) => gate(t.beforeC2S, p, s, dataContext('beforeC2S', p, s));
    if (t.c2s.length) {
      hooks.c2s = (p, s) => {
        const matching = t.c2s.filter((h) => !h.typeu || h.typeu.has(p.typeu));
        return matching.length ? gate(matching, p, s, dataContext('c2s', p, s)) : undefined;
      };
    }
    if (t.c2c.length) hooks.c2c = (p, s) => gate(t.c2c, p, s, dataContext('c2c', p, s));
    if (t.c2cDelivered.length) {
      hooks.c2cDelivered = (p, s) => all(t.c2cDelivered, p, s, dataContext('c2cDelivered', p, s));
    }
    if (t.c2cOffline.length) {
      hooks.c2cOffline = async (p, s) => {
        const ctx = dataContext('c2cOffline', p, s);
        for (const h of t.c2cOffline) if ((await h.call(p, s, ctx)) === true) return true;
        return false;
      };
    }
    if (t.messagesLost.length) {
      hooks.messagesLost = (packets) => all(t.messagesLost, packets, null, { event: 'messagesLost', packets });
    }
    if (t.messageDelivered.length) {
      hooks.messageDelivered = (_fp, userId, packet, session) =>
        all(t.messageDelivered, packet, session, { event: 'messageDelivered', packet, session, userId });
    }
    return hooks;
  }
}

/** Without a session (a packet that came over the bridge) the user is the packet's sender on the far side. */
function dataContext(event: IMEventName, packet: Packet, session: Session | null): IMEventContext {
  return session ? { event, packet, session, userId: session.userId ?? undefined } : { event, packet, userId: packet.from };
}

/** Runs handlers in order; the first `false` or refusal stops the packet. */
async function gate(handlers: BoundHandler[], p: Packet, s: Session, ctx: IMEventContext): Promise<HookVerdict> {
  for (const h of handlers) {
    const r = await h.call(p, s, ctx);
    if (r === false || isRefusal(r)) return r;
  }
  return true;
}

/** Runs every handler; results are ignored (failures are logged by toRefusal). */
async function all(handlers: BoundHandler[], subject: unknown, s: Session | null, ctx: IMEventContext): Promise<void> {
  for (const h of handlers) await h.call(subject, s, ctx);
}

/** A login handler's result as a login code: 0 accepts. */
function loginCode(r: unknown): number {
  if (isRefusal(r)) return r.code;
  if (typeof r === 'number') return r;
  if (r === false) return IMErrors.LOGIN_REFUSED.wireCode;
  return 0;
}
