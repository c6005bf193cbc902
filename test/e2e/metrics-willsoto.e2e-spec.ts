/**
 * The README's Operations example: `metrics: true` next to
 * @willsoto/nestjs-prometheus's `PrometheusModule.register()`, whose /metrics
 * then serves the IM metrics beside the process metrics, with no extra wiring.
 */
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { startIMTestingApp } from '../../lib/testing';
import { sample } from '../support/prom-text';
import { RecordingHandlers } from './fixtures/recording-handlers';

describe('README Operations example: IM metrics on @willsoto/nestjs-prometheus', () => {
  it('serves the IM metrics at PrometheusModule\'s /metrics', async () => {
    const im = await startIMTestingApp({
      http: true,
      imports: [PrometheusModule.register()],
      providers: [RecordingHandlers],
      im: { metrics: true },
    });
    try {
      await im.login('ws', 'alice');
      const res = await fetch(`http://127.0.0.1:${im.httpPort}/metrics`, { signal: AbortSignal.timeout(10_000) });
      const text = await res.text();
      expect(res.status).toBe(200);
      expect(sample(text, 'im_logins_total{transport="ws",outcome="accepted"}')).toBe(1);
      expect(sample(text, 'im_sessions{transport="ws"}')).toBe(1);
      expect(text).toContain('process_cpu_user_seconds_total');
    } finally {
      await im.close();
    }
  });
});
