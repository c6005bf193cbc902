/** The transports a session can arrive on (PROTOCOL.md §1). */
export type TransportKind = 'tcp' | 'udp' | 'ws';
