/**
 * A browser bundle of `nestjs-im/client` must not need Node-only modules at
 * load time: `net`, `dgram` and `ws` may only be loaded when a Node link opens.
 */
describe('nestjs-im/client module loading', () => {
  it('imports without loading net, dgram or ws', () => {
    for (const id of ['net', 'dgram', 'ws', 'events']) {
      jest.doMock(id, () => {
        throw new Error(`${id} loaded at import time`);
      });
    }
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const client = require('../../lib/client') as typeof import('../../lib/client');
      expect(typeof client.IMClient).toBe('function');
      expect(typeof client.WsLink).toBe('function');
      // Constructing links is also free of Node modules; only open() loads them.
      new client.TcpLink({ host: 'h', port: 1 });
      new client.UdpLink({ host: 'h', port: 1 });
      new client.IMClient(new client.WsLink({ url: 'ws://h:1/websocket' }));
    });
  });
});
