/**
 * `nestjs-im/client`: a MobileIMSDK-compatible client for Node.js and browsers.
 * Importing this module loads no Node-only module: `TcpLink` and `UdpLink`
 * load `net`/`dgram` when opened, and `WsLink` uses the global `WebSocket`
 * outside Node.
 */

/** The client: login, keepalive, QoS sends, ACK and dedup of received packets, and a wire-level FIFO. */
export { IMClient } from './im-client';
/** Options, requests, results and events of {@link IMClient}. */
export type {
  IMClientOptions,
  IMClientEvents,
  LoginRequest,
  LoginResult,
  SendOptions,
  SendOutcome,
  KickoutInfo,
  ServerErrorInfo,
  CloseReason,
  CloseInfo,
  LinkLostInfo,
} from './im-client-types';
/** Re-login after a link loss with backoff, as the same device (same `firstLoginTime`). */
export { AutoReconnect, reconnectDelay, DEFAULT_RECONNECT_BACKOFF } from './auto-reconnect';
/** Backoff, options and events of {@link AutoReconnect}. */
export type { ReconnectBackoff, AutoReconnectOptions, AutoReconnectEvents } from './auto-reconnect';
/** The transport seam: a link carries packet bodies; a factory makes one per connection. */
export type { IMLink, IMLinkFactory, LinkKind, LinkCloseInfo } from './link';
/** Node.js TCP link with 4-byte length framing. */
export { TcpLink } from './tcp-link';
/** Options of {@link TcpLink}. */
export type { TcpLinkOptions } from './tcp-link';
/** Node.js UDP link, one packet per datagram. */
export { UdpLink } from './udp-link';
/** Options of {@link UdpLink}. */
export type { UdpLinkOptions } from './udp-link';
/** WebSocket link for Node.js (`ws`) and browsers (global `WebSocket`). */
export { WsLink } from './ws-link';
/** Options of {@link WsLink} and the WebSocket API it needs. */
export type { WsLinkOptions, WebSocketLike, WebSocketConstructor } from './ws-link';
/** SDK keepalive presets by sense mode and transport. */
export { senseModeTimings } from '../protocol/sense-mode';
/** Sense mode names and keepalive timing fields; `ClientSenseMode` is the same union as the server's `SenseMode`. */
export type { SenseMode, SenseMode as ClientSenseMode, KeepaliveTimings } from '../protocol/sense-mode';
/** The transport names: `'tcp' | 'udp' | 'ws'`. */
export type { TransportKind } from '../protocol/transport-kind';
/** Client QoS retransmission table and its SDK default timings. */
export { QoSOutbox, DEFAULT_QOS_TIMINGS } from './qos-outbox';
/**
 * Former name of {@link QoSOutbox}, too close to the server's `SendQoSTable`.
 * @deprecated Use `QoSOutbox`.
 */
export { QoSOutbox as QoSSendTable } from './qos-outbox';
/** QoS outcome and timing fields. */
export type { QoSOutcome, QoSTimings } from './qos-outbox';
/** Receive-side fingerprint deduplication table. */
export { ReceivedFingerprints } from './received-fingerprints';
/** FIFO of received packets with predicate waiters. */
export { PacketQueue } from './packet-queue';
/** Predicate type of {@link PacketQueue.take} and `IMClient.nextPacket`. */
export type { PacketPredicate } from './packet-queue';
/** Keepalive sender and link-loss detector. */
export { KeepaliveTimer } from './keepalive-timer';
/** Builders of the packets the SDKs send (login, keepalive, logout, echo, data, ACK). */
export { loginPacket, keepalivePacket, logoutPacket, echoPacket, dataPacket, ackFor } from '../protocol/payloads';
/** Completes a packet with the SDK defaults (`bridge`/`QoS` false, `typeu`/`sm` -1). */
export { clientPacket } from '../protocol/packet';
/** Packet-builder argument types; `LoginPacketInfo` is the login info of PROTOCOL.md §3.2. */
export type { PacketInit } from '../protocol/packet';
export type { DataPacketOptions, LoginInfo, LoginInfo as LoginPacketInfo } from '../protocol/payloads';
/** New random UUID fingerprint (works in browsers without `crypto.randomUUID`). */
export { newFingerprint } from './fingerprint';
/** Minimal typed event emitter that IMClient extends. */
export { TypedEmitter } from './typed-emitter';
/** Listener map constraint of {@link TypedEmitter}. */
export type { EventMap } from './typed-emitter';
/** The packet model, codec and type codes, re-exported so client code needs only this entry point. */
export type { Packet } from '../protocol/packet';
/** Packet JSON codec (SDK key order on encode, reference defaults on decode). */
export { encodePacket, decodePacket } from '../protocol/packet-codec';
/** Packet type codes and the server's user id. */
export { PacketType, SERVER_USER_ID } from '../protocol/packet-type';
