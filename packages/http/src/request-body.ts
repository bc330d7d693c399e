import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import bytes from 'bytes';
import express, { type Request, type RequestHandler } from 'express';
import { payloadTooLarge } from './request-parsing';

/** How the central reads JSON bodies: the parser, and the SHA-256 of each body as received. */
export interface RequestBodyReader {
  /** Reads a JSON body; a declared body over the limit is refused at once (and the connection closed), not read to its end first. */
  readonly readJson: RequestHandler;
  /** The SHA-256 (base64) of the request's body as received, decompressed: what identifies a push batch's content. */
  digestOf(req: Request): string;
  readonly limit: string;
}

export function requestBodyReader(limit: string): RequestBodyReader {
  const limitBytes = bytes.parse(limit);
  if (limitBytes === null) throw new Error(`createCentralApp: bodyLimit "${limit}" is not a size like "16mb"`);
  const digests = new WeakMap<Request, string>();
  const jsonBody = express.json({
    limit,
    inflate: true,
    verify: (req, _res, buffer) => {
      if (!isUtf8(buffer)) throw Object.assign(new Error('the request body is not valid UTF-8'), { type: 'entity.not.utf8' });
      digests.set(req as Request, createHash('sha256').update(buffer).digest('base64'));
    },
  });
  const readJson: RequestHandler = (req, res, next) => {
    const declared = Number(req.get('content-length') ?? '0');
    if (Number.isFinite(declared) && declared > limitBytes) {
      next(payloadTooLarge(limit));
      return;
    }
    jsonBody(req, res, next);
  };
  return { readJson, digestOf: (req) => digests.get(req) ?? '', limit };
}
