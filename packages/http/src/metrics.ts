import type { RequestHandler } from 'express';

/** The central's Prometheus metrics (prom-client); filled in by the metrics work. */
export class CentralMetrics {
  readonly observe: RequestHandler = (_req, _res, next) => next();
  readonly serve: RequestHandler = (_req, res) => {
    res.type('text/plain').send('');
  };
}
