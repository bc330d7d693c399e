import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { CentralAppLogger } from './create-central-app';
import { ERROR_STATUS, SyncHttpError } from './error-codes';
import { toSyncHttpError } from './request-parsing';

/** The answer to a path no route serves. */
export function notFound(req: Request): never {
  throw SyncHttpError.of('not_found', `There is no route ${req.method} ${req.path}. See docs/sync-api.md for the routes of the sync and admin API.`);
}

/**
 * Every error as `{"error":{"code","message","data"}}` with its status and headers; an unexpected one
 * is logged with a correlation id that the answer gives, never its details.
 */
export function errorHandler(logger: CentralAppLogger, bodyLimit: string) {
  return (error: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const known = toSyncHttpError(error, bodyLimit);
    if (known) {
      if (known.code === 'not_initialised' && known.status === ERROR_STATUS.not_initialised) res.set('retry-after', '60');
      if (known.code === 'auth_required') res.set('www-authenticate', 'Basic realm="sitesync", charset="UTF-8"');
      if (known.code === 'database_unavailable') res.set('retry-after', '5');
      if (known.code === 'payload_too_large') res.set('connection', 'close'); // do not read the rest of a huge body
      if (known.code === 'rate_limited') res.set('retry-after', String((known.data as { retryAfterSeconds: number }).retryAfterSeconds));
      res.status(known.status).json({ error: { code: known.code, message: known.message, data: known.data ?? null } });
      return;
    }
    const correlationId = randomUUID();
    logger.error({ err: error, correlationId, method: req.method, path: req.path }, 'unexpected error in the central API');
    res.status(ERROR_STATUS.internal).json({
      error: {
        code: 'internal',
        message: `The central failed unexpectedly. Its log has the details under correlation id ${correlationId}.`,
        data: { correlationId },
      },
    });
  };
}
