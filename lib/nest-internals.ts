/**
 * The one place nestjs-im reaches into Nest beyond its public API: each
 * function names the private or protected member it reads, so a Nest upgrade
 * that renames one breaks here, in one file, and in the tests that cover it.
 */
import type { ExternalExceptionFilterContext } from '@nestjs/core/exceptions/external-exception-filter-context';
import type { ExternalContextCreator } from '@nestjs/core/helpers/external-context-creator';
import type { RouterProxyCallback } from '@nestjs/core/router/router-proxy';
import type { WsAdapter } from '@nestjs/platform-ws';

/**
 * The exception-filter chain of a handler (`@UseFilters`, global filters), as
 * Nest builds it for an external context. `ExternalContextCreator` keeps its
 * `filtersContextCreator` private and, with filters on, ends the chain with a
 * default filter that logs every HttpException at ERROR; the IM handlers run
 * the chain without filters and apply these themselves. Undefined if Nest no
 * longer has the member.
 */
export function exceptionFiltersOf(
  contextCreator: ExternalContextCreator,
  instance: object,
  method: (...args: unknown[]) => unknown,
): ReturnType<ExternalExceptionFilterContext['create']> | undefined {
  const filters = (contextCreator as unknown as { filtersContextCreator?: ExternalExceptionFilterContext }).filtersContextCreator;
  return filters?.create(instance, method as RouterProxyCallback, contextCreator.getContextModuleKey(instance.constructor));
}

/** What `WsAdapter` keeps per HTTP port (protected members): the HTTP servers and the `ws` servers dispatched by path. */
interface WsAdapterRegistries {
  httpServer?: unknown;
  httpServersRegistry?: Map<number, unknown>;
  wsServersRegistry?: Map<number, { path?: string }[]>;
}

/** The HTTP server a `WsAdapter` was built on (`new WsAdapter(app)`), if any. */
export function wsAdapterHttpServer(adapter: WsAdapter): unknown {
  return (adapter as unknown as WsAdapterRegistries).httpServer;
}

/** True once the adapter dispatches upgrades on `port` (0: the application's HTTP server). */
export function wsAdapterDispatches(adapter: WsAdapter, port: number): boolean {
  return (adapter as unknown as WsAdapterRegistries).httpServersRegistry?.has(port) ?? false;
}

/** Paths the adapter's `ws` servers on `port` serve (normalized as the adapter compares them). */
export function wsAdapterPaths(adapter: WsAdapter, port: number): string[] {
  return ((adapter as unknown as WsAdapterRegistries).wsServersRegistry?.get(port) ?? []).map((s) => s.path ?? '');
}

/** Takes a `ws` server out of the adapter's dispatch (WsAdapter has no public way to unregister one). */
export function removeFromWsAdapter(adapter: WsAdapter, port: number, wsServer: object): void {
  const entries = (adapter as unknown as WsAdapterRegistries).wsServersRegistry?.get(port);
  const at = entries?.indexOf(wsServer) ?? -1;
  if (entries && at >= 0) entries.splice(at, 1);
}
