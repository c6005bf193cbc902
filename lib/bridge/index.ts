export * from './bridge-options';
export * from './bridge.constants';
export { IMBridge, type IMBridgeContext, withHeartbeat } from './im-bridge';
export { decodeBridgeMessage, encodeBridgeMessage, type BridgeInbound } from './bridge-codec';
