import { createHash } from 'node:crypto';
import type { Result, Site, SiteId, Topology, TopologyViolation } from '@sitesync/domain';
import type { z } from 'zod';
import { SyncHttpError } from './error-codes';

export function sha256HexOf(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('hex');
}

export function publicSite(site: Site): Record<string, unknown> {
  // Listed field by field: whatever is added to Site later is not published by accident.
  return {
    id: site.id,
    code: site.code,
    name: site.name,
    roles: site.roles,
    omsCentralUrl: site.omsCentralUrl,
    deviceType: site.deviceType,
    appName: site.appName,
    appVersion: site.appVersion,
    hardwareId: site.hardwareId,
    syncIntervalMinutes: site.syncIntervalMinutes,
    requestSize: site.requestSize,
    serverUrl: site.serverUrl,
    failedLoginCount: site.failedLoginCount,
    blocked: site.blocked,
    lastSyncedAt: site.lastSyncedAt?.toISOString() ?? null,
    centralisedProcurement: site.centralisedProcurement ?? null,
  };
}

export function parseSiteId(raw: unknown): SiteId {
  if (typeof raw !== 'string' || !/^\d{1,9}$/.test(raw) || Number(raw) <= 0) {
    throw SyncHttpError.of('validation_failed', `Site id "${String(raw)}" is not a positive whole number.`, [
      { path: 'id', message: 'a positive whole number' },
    ]);
  }
  return Number(raw);
}

export function siteOrNotFound(topology: Topology, id: SiteId): Site {
  const site = topology.site(id);
  if (!site) throw SyncHttpError.of('not_found', `There is no site ${id}. List the sites (GET /admin/v1/sites) to see them.`);
  return site;
}

export function violationsOrValue<T>(result: Result<T, readonly TopologyViolation[]>): T {
  if (result.ok) return result.value;
  const first = result.error[0];
  const summary = first ? `${first.message} Fix: ${first.fix}` : 'no details';
  const more = result.error.length > 1 ? ` (and ${result.error.length - 1} more, see data)` : '';
  throw SyncHttpError.of('topology_rule_violated', `The change breaks the topology rules: ${summary}${more}`, result.error);
}

function zodProblems(error: z.ZodError): { readonly path: string; readonly message: string }[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}

export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  if (body === undefined) {
    throw SyncHttpError.of('validation_failed', 'The request needs a JSON body: send Content-Type: application/json.', [
      { path: '', message: 'missing JSON body' },
    ]);
  }
  return parseWith(schema, body, 'request body');
}

export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.output<S> {
  return parseWith(schema, query, 'query string');
}

function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = zodProblems(parsed.error);
  const first = problems[0];
  const field = first && first.path !== '' ? `field "${first.path}"` : `the ${where}`;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problems, see data)` : '';
  throw SyncHttpError.of('validation_failed', `Invalid ${where}: ${field}: ${first?.message ?? 'invalid'}${more}`, problems);
}

/** A body over the limit, whether declared or found while reading it. */
export function payloadTooLarge(bodyLimit: string): SyncHttpError {
  return SyncHttpError.of('payload_too_large', `The request body is larger than ${bodyLimit} (once decompressed). Send fewer records per request.`, {
    limit: bodyLimit,
  });
}

/** Errors with a meaning for the client: ours, and the JSON body parser's. */
export function toSyncHttpError(error: unknown, bodyLimit: string): SyncHttpError | null {
  if (error instanceof SyncHttpError) return error;
  if (error instanceof URIError) {
    return SyncHttpError.of('validation_failed', 'The request path is not valid percent-encoding (a "%" must be followed by two hex digits).', [
      { path: '', message: 'invalid percent-encoding' },
    ]);
  }
  if (typeof error !== 'object' || error === null) return null;
  // The body parser's errors: a 4xx status, and a `type` (or `expose`, e.g. a corrupt gzip stream).
  const { type, status, expose } = error as { type?: unknown; status?: unknown; expose?: unknown };
  if (typeof status !== 'number' || status < 400 || status >= 500 || (typeof type !== 'string' && expose !== true)) return null;
  const kind = typeof type === 'string' ? type : status === 413 ? 'entity.too.large' : 'unreadable body';
  switch (kind) {
    case 'entity.too.large':
      return payloadTooLarge(bodyLimit);
    case 'entity.parse.failed':
      return SyncHttpError.of('validation_failed', `The request body is not valid JSON: ${(error as { message?: unknown }).message as string}`, [
        { path: '', message: 'invalid JSON' },
      ]);
    case 'entity.not.utf8':
      return SyncHttpError.of('validation_failed', 'The request body is not valid UTF-8: send JSON encoded as UTF-8.', [
        { path: '', message: 'invalid UTF-8' },
      ]);
    case 'encoding.unsupported':
      return SyncHttpError.of('validation_failed', 'Unsupported Content-Encoding: send the body as is, or compressed with gzip or deflate.', [
        { path: '', message: 'unsupported content-encoding' },
      ]);
    default:
      return SyncHttpError.of(
        'validation_failed',
        `The request could not be read (${String((error as { message?: unknown }).message)}): check the body and its Content-Encoding.`,
        [{ path: '', message: kind }],
      );
  }
}
