/**
 * The three MobileIMSDK transports (PROTOCOL.md §1): TCP with 4-byte length
 * framing, UDP with one packet per datagram, WebSocket with one packet per
 * text message. Server, client, testing kit, conformance runner and bench
 * all name a transport with this one union.
 */
export type TransportKind = 'tcp' | 'udp' | 'ws';

/** Every {@link TransportKind}, in the order the README lists them. */
export const TRANSPORT_KINDS: readonly TransportKind[] = ['tcp', 'udp', 'ws'];
