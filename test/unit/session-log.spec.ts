import { ConsoleLogger } from '@nestjs/common';
import { inspect } from 'util';
import { sessionLog } from '../../lib/core/session-log';
import type { Session } from '../../lib/core/session';

const session = { id: 7, userId: 'alice', transport: 'tcp', remoteAddress: '127.0.0.1' } as Session;

describe('session log records', () => {
  it('print as one line in text logs', () => {
    expect(inspect(sessionLog(session, 'too many packets waiting', 'IM_QUEUE_OVERFLOW'))).toBe(
      'tcp#7(alice@127.0.0.1): IM_QUEUE_OVERFLOW too many packets waiting',
    );
    expect(String(sessionLog(undefined, 'handler failed'))).toBe('hook: handler failed');
  });

  it('carry session id, user, transport and reason as fields in Nest\'s JSON logs', () => {
    const lines: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      new ConsoleLogger('IMCore', { json: true }).warn(sessionLog(session, 'closing', 'IM_QUEUE_OVERFLOW'));
    } finally {
      write.mockRestore();
    }
    const entry = JSON.parse(lines.join(''));
    expect(entry).toMatchObject({
      level: 'warn',
      context: 'IMCore',
      message: { msg: 'closing', sessionId: 7, userId: 'alice', transport: 'tcp', remoteAddress: '127.0.0.1', reason: 'IM_QUEUE_OVERFLOW' },
    });
  });
});
