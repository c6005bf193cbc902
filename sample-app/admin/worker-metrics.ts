import cluster from 'cluster';
import { AggregatorRegistry } from 'prom-client';

/**
 * `/metrics` under `IM_WORKERS`: every worker has its own registry, and the
 * shared HTTP port hands a scrape to any one of them. The worker that got it
 * asks the primary, which gathers every worker's metrics with prom-client's
 * `AggregatorRegistry` (counters, gauges and histograms summed) and answers.
 */
interface MetricsRequest {
  sampleMetrics: 'request';
  id: number;
}
interface MetricsReply {
  sampleMetrics: 'reply';
  id: number;
  text?: string;
  error?: string;
}

const TIMEOUT_MS = 5000;

/** In the primary: answers the workers' requests for the whole machine's metrics. */
export function serveWorkerMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, m: MetricsRequest) => {
    if (m?.sampleMetrics !== 'request') return;
    const reply = (r: Omit<MetricsReply, 'sampleMetrics' | 'id'>) => {
      if (worker.isConnected()) worker.send({ sampleMetrics: 'reply', id: m.id, ...r } satisfies MetricsReply);
    };
    aggregator.clusterMetrics().then((text) => reply({ text }), (err: Error) => reply({ error: err.message }));
  });
}

let nextId = 0;

/** In every worker, at start: answer the primary's requests for this worker's metrics (prom-client does, once one `AggregatorRegistry` exists). */
export function answerMetricsRequests(): void {
  new AggregatorRegistry();
}

/** In a worker: the metrics of every worker, summed, in the Prometheus text format. */
export function allWorkersMetrics(): Promise<string> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const onMessage = (m: MetricsReply) => {
      if (m?.sampleMetrics !== 'reply' || m.id !== id) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      if (m.text !== undefined) resolve(m.text);
      else reject(new Error(`metrics of the workers: ${m.error ?? 'no answer'}`));
    };
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new Error(`metrics of the workers: no answer from the primary within ${TIMEOUT_MS} ms`));
    }, TIMEOUT_MS);
    process.on('message', onMessage);
    process.send?.({ sampleMetrics: 'request', id } satisfies MetricsRequest);
  });
}

/** The content type of the aggregated text. */
export const WORKER_METRICS_CONTENT_TYPE = AggregatorRegistry.PROMETHEUS_CONTENT_TYPE;
