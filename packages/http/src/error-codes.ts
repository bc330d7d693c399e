/** The stable error codes of the sync and admin API. Every non-2xx body is `{"error":{"code","message","data"}}`. */
export const SYNC_ERROR_CODES = [
  'validation_failed',
  'auth_required',
  'site_auth_failed',
  'site_incorrect_hardware_id',
  'site_blocked',
  'admin_auth_failed',
  'forbidden',
  'not_found',
  'api_version_incompatible',
  'topology_rule_violated',
  'record_refused',
  'not_initialised',
  'payload_too_large',
  'batch_conflict',
  'precondition_failed',
  'rate_limited',
  'database_unavailable',
  'central_unavailable',
  'headers_too_large',
  'internal',
] as const;
export type SyncErrorCode = (typeof SYNC_ERROR_CODES)[number];

/** The HTTP status of each error code. */
export const ERROR_STATUS: Record<SyncErrorCode, number> = {
  validation_failed: 400,
  auth_required: 401,
  site_auth_failed: 401,
  site_incorrect_hardware_id: 401,
  site_blocked: 403,
  admin_auth_failed: 401,
  forbidden: 403,
  not_found: 404,
  api_version_incompatible: 409,
  topology_rule_violated: 422,
  record_refused: 422,
  not_initialised: 503,
  payload_too_large: 413,
  batch_conflict: 409,
  precondition_failed: 409,
  rate_limited: 429,
  database_unavailable: 503,
  central_unavailable: 503,
  headers_too_large: 431,
  internal: 500,
};

export function isSyncErrorCode(value: unknown): value is SyncErrorCode {
  return typeof value === 'string' && (SYNC_ERROR_CODES as readonly string[]).includes(value);
}

/**
 * An error of the API: thrown by the central's routes (and turned into the error body there), and
 * thrown by the HTTP clients when the central answers with one.
 */
export class SyncHttpError extends Error {
  constructor(
    readonly code: SyncErrorCode,
    readonly status: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'SyncHttpError';
  }

  /** An error with the status of its code. */
  static of(code: SyncErrorCode, message: string, data?: unknown): SyncHttpError {
    return new SyncHttpError(code, ERROR_STATUS[code], message, data);
  }
}
