/** Prometheus metrics of the service (prom-client), served as text at GET /metrics. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CertifyPool } from './pool.js';

export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'smooth_reduce_http_requests_total',
    help: 'HTTP requests answered, by route and status',
    labelNames: ['route', 'status'],
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'smooth_reduce_http_request_seconds',
    help: 'HTTP request latency, by route',
    labelNames: ['route'],
    buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly certification = new Histogram({
    name: 'smooth_reduce_certification_seconds',
    help: 'time a worker spent on one certify / predict call',
    labelNames: ['command', 'method'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly cancelled = new Counter({
    name: 'smooth_reduce_cancelled_total',
    help: 'certifications stopped because the client went away',
    registers: [this.registry],
  });

  constructor(pool: CertifyPool) {
    new Gauge({
      name: 'smooth_reduce_workers_busy',
      help: 'worker threads computing a certification',
      registers: [this.registry],
      collect() {
        this.set(pool.running);
      },
    });
    new Gauge({
      name: 'smooth_reduce_queue_length',
      help: 'requests waiting for a worker',
      registers: [this.registry],
      collect() {
        this.set(pool.queued);
      },
    });
    new Gauge({
      name: 'smooth_reduce_workers',
      help: 'worker threads in the pool',
      registers: [this.registry],
    }).set(pool.options.workers);
    collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  observeResponse(route: string, status: number, seconds: number): void {
    this.requests.inc({ route, status: String(status) });
    this.latency.observe({ route }, seconds);
  }

  observeCertification(command: string, method: string, seconds: number): void {
    this.certification.observe({ command, method }, seconds);
  }
}
