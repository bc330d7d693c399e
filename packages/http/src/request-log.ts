import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { ERROR_STATUS } from './error-codes';
import { HEADERS } from './wire';

/** A request id taken from a client as it is: 1 to 128 letters, digits, dots, underscores and hyphens. */
export const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Paths whose successful answers are logged at debug level: scrapes and health checks would flood the log at info. */
const QUIET_PATHS = new Set(['/health', '/metrics']);

/** The id of a request: the client's `x-request-id` when it is sane, else a new UUID (a bad one is not logged as sent). */
export function requestIdFrom(header: string | undefined): string {
  return header !== undefined && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}

/**
 * Gives every request an id (`requestIdFrom` the `x-request-id` header), answers it in the
 * `x-request-id` header, and, with a logger, logs one line per request when it is answered
 * (pino-http): `requestId`, method, URL, client address, status and response time, at info (debug
 * for successful scrapes and health checks, warn for 4xx and 503, error for 500). Without a logger only the
 * id is given, nothing is logged. Headers are never logged (they carry the credentials).
 */
export function requestLogging(logger?: Logger): RequestHandler {
  const log = logger
    ? pinoHttp({
        logger,
        // the id was given below; pino-http keeps an id a request already has
        genReqId: (req) => req.id,
        customProps: (req) => ({ requestId: req.id }),
        customLogLevel: (req, res, err) => {
          // only an unexpected failure is an error (the error handler logs its details); a 503 of a database gone away, a 401, are expected answers
          if (err !== undefined || res.statusCode === ERROR_STATUS.internal) return 'error';
          if (res.statusCode >= 400) return 'warn';
          return QUIET_PATHS.has(pathOf(req)) ? 'debug' : 'info';
        },
        customSuccessMessage: (req, res, responseTime) => `${req.method} ${pathOf(req)} ${res.statusCode} in ${responseTime} ms`,
        customErrorMessage: (req, res) => `${req.method} ${pathOf(req)} ${res.statusCode}`,
        // without the Error pino-http makes up for a 5xx answer (its stack says nothing): the error handler logs the real one
        customErrorObject: (_req, _res, err, value: Record<string, unknown>) =>
          err instanceof Error && err.message.startsWith('failed with status code') ? { ...value, err: undefined } : value,
        serializers: {
          req: (req: { id: unknown; method: string; url: string; remoteAddress?: string; raw: IncomingMessage }) => ({
            id: req.id,
            method: req.method,
            url: req.url,
            ip: (req.raw as Request).ip ?? req.remoteAddress,
          }),
          res: (res: { statusCode: number; raw: ServerResponse }) => ({ statusCode: res.statusCode }),
        },
      })
    : null;
  return (req, res, next) => {
    const id = requestIdFrom(req.get(HEADERS.requestId));
    req.id = id;
    res.setHeader(HEADERS.requestId, id);
    if (log) log(req, res, next);
    else next();
  };
}

function pathOf(req: IncomingMessage): string {
  const url = (req as Partial<Request>).originalUrl ?? req.url ?? '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
