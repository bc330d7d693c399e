import compression from 'compression';
import express from 'express';
import type { Logger } from 'pino';
import { requestLogging } from './request-log';

/**
 * What every sitesync HTTP app starts with: no `x-powered-by`, no ETags (answers are never cached),
 * Express's `trust proxy` as configured, one log line per request (when a logger is given) and
 * compressed answers.
 */
export function baseApp(options: {
  readonly trustProxy?: boolean | number | string | undefined;
  readonly requestLogger?: Logger | undefined;
}): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', options.trustProxy ?? false);
  app.set('etag', false);
  app.use(requestLogging(options.requestLogger));
  app.use(compression());
  return app;
}
