import type { TransportKind } from '../core/connection';
import type { IMListenerRegistration } from './im-listener';
import { TcpListener } from './tcp/tcp-listener';
import { UdpListener } from './udp/udp-listener';
import { WsListener } from './ws/ws-listener';

/** Every transport the server can run, in start order; `IMServer` builds those whose option is not `false`. */
export const IM_LISTENERS: readonly { [K in TransportKind]: IMListenerRegistration<K> }[TransportKind][] = [
  {
    kind: 'tcp',
    name: 'TCP',
    socket: 'tcp',
    address: (o) => ({ port: o.port, host: o.host }),
    create: ({ sink, options }) => new TcpListener(sink, options),
  },
  {
    kind: 'udp',
    name: 'UDP',
    socket: 'udp',
    address: (o) => ({ port: o.port, host: o.host }),
    create: ({ sink, options }) => new UdpListener(sink, options),
  },
  {
    kind: 'ws',
    name: 'WebSocket',
    socket: 'tcp',
    address: (o) => (typeof o.port === 'number' ? { port: o.port, host: o.host } : undefined),
    create: ({ sink, options, httpServer, wsAdapter }) => new WsListener(sink, options, httpServer, wsAdapter),
  },
];
