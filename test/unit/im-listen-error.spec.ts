import { explainListenFailure, IMListenError } from '../../lib/errors/im-listen.error';

const errno = (code: string, message = `listen ${code}`) => Object.assign(new Error(message), { code });

describe('IMListenError', () => {
  it('names the listener, the address and the option for a port in use', () => {
    const error = new IMListenError('UDP', 7901, undefined, errno('EADDRINUSE'));
    expect(error.id).toBe('IM_PORT_IN_USE');
    expect(error.option).toBe('udp.port');
    expect(error.message).toBe(
      'IM_PORT_IN_USE: the UDP listener cannot listen on *:7901: port already in use (EADDRINUSE). Change udp.port (0 picks a free port).',
    );
  });

  it('reports other bind failures as IM_LISTEN_FAILED with their code', () => {
    const cause = errno('EACCES');
    const error = new IMListenError('WebSocket', 80, '127.0.0.1', cause);
    expect(error.id).toBe('IM_LISTEN_FAILED');
    expect(error.cause).toBe(cause);
    expect(error.message).toBe(
      "IM_LISTEN_FAILED: the WebSocket listener cannot listen on 127.0.0.1:80: cannot listen (EACCES). Change ws.port (0 picks a free port; 'http' shares the Nest HTTP server).",
    );
  });

  it('explainListenFailure wraps bind errors and lets any other error through unchanged', () => {
    expect(() => explainListenFailure('TCP', 8901, undefined)(errno('EADDRNOTAVAIL'))).toThrow(IMListenError);
    const other = new Error("ws.port 'http' needs a Nest application with an HTTP server");
    expect(() => explainListenFailure('WebSocket', 3000, undefined)(other)).toThrow(other);
  });
});
