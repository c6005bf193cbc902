/**
 * The library's abuse and close logs through Nest's JSON console logger:
 * session id, user, transport and reason arrive as fields.
 */
import { ConsoleLogger } from '@nestjs/common';
import { IMTestingApp, startIMTestingApp } from '../../lib/testing';
import { RecordingHandlers } from './fixtures/recording-handlers';

/** Nest's JSON logger, writing its lines to an array instead of stdout. */
class CapturingJsonLogger extends ConsoleLogger {
  readonly lines: Array<{ level: string; context?: string; message: Record<string, unknown> | string }> = [];

  constructor() {
    super({ json: true, logLevels: ['fatal', 'error', 'warn', 'log', 'debug'] });
  }

  protected override printAsJson(message: unknown, options: Parameters<ConsoleLogger['printAsJson']>[1]): void {
    this.lines.push(JSON.parse(this.stringifyJsonLogObject(this.getJsonLogObject(message, options))));
  }
}

describe('structured logs', () => {
  let im: IMTestingApp;
  const logger = new CapturingJsonLogger();

  beforeAll(async () => {
    im = await startIMTestingApp({ providers: [RecordingHandlers], configure: (app) => app.useLogger(logger) });
  });
  afterAll(() => im?.close());

  it('bad input and the close it causes carry session id, user, transport and reason', async () => {
    const alice = await im.login('ws', 'alice');
    alice.sendText('not json');
    await alice.expectClosed();
    const core = logger.lines.filter((l) => l.context === 'IMCore' && typeof l.message === 'object');
    const bad = core.find((l) => (l.message as { reason?: string; msg?: string }).reason === 'IM_BAD_JSON' && (l.message as { msg?: string }).msg !== 'closing');
    expect(bad).toMatchObject({ level: 'warn', message: { transport: 'ws', sessionId: expect.any(Number), remoteAddress: '127.0.0.1' } });
    const closing = core.find((l) => (l.message as { msg?: string }).msg === 'closing');
    expect(closing).toMatchObject({ level: 'debug', message: { userId: 'alice', transport: 'ws', reason: 'IM_BAD_JSON', closeReason: 'bad-input' } });
    expect((closing!.message as { sessionId: number }).sessionId).toBe((bad!.message as { sessionId: number }).sessionId);
  });
});
