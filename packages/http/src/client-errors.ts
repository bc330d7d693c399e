import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ERROR_STATUS, type SyncErrorCode } from './error-codes';

/** How long a request may take from its first byte to its last (a stalled upload ends here). */
export const REQUEST_TIMEOUT_MS = 120_000;
/** Connections the central keeps open at most; more are refused by the server. */
export const MAX_CONNECTIONS = 2_000;

/**
 * Requests that Node's HTTP parser refuses (a NUL in a header, a bad Content-Length, headers too
 * large, an unknown Expect) are answered with the API's JSON error body and a stable code, like
 * every other error, and the connection is closed. Also sets the request timeout and connection
 * cap. For an embedding service, call it on its own `http.Server` (created with
 * `requireHostHeader: false`, so that a request without Host gets the JSON answer too).
 */
export function hardenServer(server: Server, options: { readonly requestTimeoutMs?: number; readonly maxConnections?: number } = {}): void {
  server.requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  server.maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    const code: SyncErrorCode = tooLarge ? 'headers_too_large' : 'validation_failed';
    const message = tooLarge
      ? 'The request line or headers are larger than the central accepts (16 KB): send shorter headers.'
      : timedOut
        ? `The request took longer than ${Math.round((options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS) / 1000)} s to arrive: send it again.`
        : `The request is not valid HTTP/1.1 (${error.code ?? 'unreadable'}): check its request line, headers and Content-Length.`;
    socket.end(jsonAnswer(timedOut ? 408 : ERROR_STATUS[code], code, message));
  });
  server.on('checkExpectation', (_request, response) => {
    response.writeHead(ERROR_STATUS.validation_failed, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
    response.end(JSON.stringify({ error: { code: 'validation_failed', message: 'Only "Expect: 100-continue" is understood.', data: null } }));
  });
}

function jsonAnswer(status: number, code: SyncErrorCode, message: string): string {
  const body = JSON.stringify({ error: { code, message, data: null } });
  const reason = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }[status] ?? 'Bad Request';
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}
