import { RecordingHandlers as ChatHandlers } from './fixtures/recording-handlers';
import { startIMTestingApp } from '../../lib/testing';

/** The README's testing examples, verbatim between the try/finally, so they stay true. */
describe('README testing examples', () => {
  it('three lines: log in and get a keepalive answer', async () => {
    const im = await startIMTestingApp({ providers: [ChatHandlers] });
    try {
      const alice = await im.login('tcp', 'alice');
      alice.keepalive(); await alice.expect({ type: 51, to: 'alice' });
    } finally {
      await im.close();
    }
  });

  it('manual clock: an idle timeout in milliseconds', async () => {
    const im = await startIMTestingApp({ providers: [ChatHandlers], manualClock: true, im: { tcp: { senseMode: '5S' } } });
    try {
      const alice = await im.login('tcp', 'alice');
      im.clock!.advance(11_500);
      await alice.expectClosed(); // sense mode 5S closes after 11 s idle; here in milliseconds of real time
    } finally {
      await im.close();
    }
  });
});
