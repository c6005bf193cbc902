// The public API: the module and its options, decorators, PushService, errors,
// protocol types, metrics, admin and health. The core, sessions' protocol
// state, the transports and the cluster's and bridge's ports are internal
// (importable by path for the project's own tests, not part of the API).
export * from './im.module';
export * from './im-server';
export * from './im-options.interface';
export { resolveOptions, DEFAULT_PORTS } from './im-options';
export { IM_MODULE_OPTIONS, IM_RESOLVED_OPTIONS } from './im-module-definition';
export * from './decorators';
export * from './errors';
export * from './push/push.service';
export * from './cluster';
export * from './decorators/im-event-context';
export type { DeliveryResult, DeliveryStatus } from './core/delivery-result';
export type { SessionView as Session } from './core/session-view';
export type { TransportKind } from './core/connection';
export { type Clock, type ClockTimer, SystemClock } from './core/clock';
export { type SenseMode, streamIdleTimeoutMs, udpIdleTimeoutMs } from './protocol/sense-mode';
export type { IMEvent, IMOnlineEvent, IMOfflineEvent, IMDeliveredEvent, IMLostEvent, IMStats } from './core/im-events';
export type { IMBridgedEvent } from './core/im-events';
export * from './bridge';
export * from './protocol';
export * from './metrics';
export * from './admin';
export * from './health';
export * from './workers';
export { IMSessionLogRecord } from './core/session-log';
