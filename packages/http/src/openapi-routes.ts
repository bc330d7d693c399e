import { z } from 'zod';
import { ADMIN_API_ROUTES } from './openapi-admin-routes';
import type { SyncErrorCode } from './error-codes';
import type { ApiSchemaName } from './openapi-schemas';
import { siteInfoQuerySchema, statusQuerySchema } from './wire';

export { API_SCHEMAS, type ApiSchemaName } from './openapi-schemas';

/**
 * Who may call a route: anyone (`none`), a remote site (`site`: Basic auth and the sync headers), any
 * admin API token, view-only included (`viewer`), or an admin token with the admin role (`admin`).
 */
export const API_SECURITIES = ['none', 'site', 'viewer', 'admin'] as const;
export type ApiSecurity = (typeof API_SECURITIES)[number];

export const API_METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
export type ApiMethod = (typeof API_METHODS)[number];

export const API_TAGS = ['service', 'sync', 'tokens', 'sites', 'stores', 'records', 'issues'] as const;
export type ApiTag = (typeof API_TAGS)[number];

/** The success answer of a route: a JSON body of a named schema, a body of another media type, or none. */
export interface ApiAnswer {
  readonly status: 200 | 201 | 204;
  readonly description: string;
  /** a JSON body of this schema */
  readonly json?: ApiSchemaName;
  /** a body that is not a JSON value of a schema (text, HTML, NDJSON, the document itself) */
  readonly media?: string;
  /** NDJSON: the schema of the first line, of each line between, and of the last line */
  readonly lines?: { readonly first: ApiSchemaName; readonly each: ApiSchemaName; readonly last: ApiSchemaName };
}

export interface ApiRoute {
  readonly method: ApiMethod;
  /** the path in OpenAPI form: `/admin/v1/sites/{id}` */
  readonly path: string;
  /** unique over the document */
  readonly operationId: string;
  readonly tag: ApiTag;
  readonly summary: string;
  readonly description?: string;
  readonly security: ApiSecurity;
  /** the path's parameters (each `{name}` of `path`), and what they hold */
  readonly params?: Readonly<Record<string, z.ZodType>>;
  /** the query string, as the route parses it */
  readonly query?: z.ZodObject;
  /** the JSON body, as the route parses it */
  readonly body?: ApiSchemaName;
  /** the body may be left out (the route then takes `{}`) */
  readonly bodyOptional?: boolean;
  readonly answer: ApiAnswer;
  /** error codes of this route besides those of its security, body and path parameters (see openapi.ts) */
  readonly errors?: readonly SyncErrorCode[];
}

const tokenId = { id: z.string().min(1).describe('the id of an issued token') };

/**
 * Every route the central app serves (`createCentralApp`), the one list the OpenAPI document
 * (`openApiDocument()`, GET /openapi.json) is built from. packages/http/test/openapi.test.ts checks it
 * both ways against the app: a route served but missing here fails it. See docs/openapi.md.
 */
export const API_ROUTES = [
  // --- service ---
  {
    method: 'get',
    path: '/health',
    operationId: 'health',
    tag: 'service',
    summary: 'Whether the central answers',
    security: 'none',
    answer: { status: 200, description: 'The central process answers (the database is not checked).', json: 'Health' },
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    tag: 'service',
    summary: "The central's Prometheus metrics",
    description: 'Behind the admin API token (a view-only token may scrape them).',
    security: 'viewer',
    answer: { status: 200, description: 'Prometheus text exposition format.', media: 'text/plain' },
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'openApiDocument',
    tag: 'service',
    summary: 'This OpenAPI 3.1 document',
    security: 'none',
    answer: { status: 200, description: 'The OpenAPI 3.1 document of the sync and admin API.', media: 'application/json' },
  },
  {
    method: 'get',
    path: '/admin/',
    operationId: 'adminPage',
    tag: 'service',
    summary: 'The admin web page',
    description:
      'The page needs no token; it calls the admin API with the token the user logs in with. `GET /admin` redirects here (301): the page loads admin.css and admin.js relative to it.',
    security: 'none',
    answer: { status: 200, description: 'An HTML page.', media: 'text/html' },
  },
  {
    method: 'get',
    path: '/admin/admin.css',
    operationId: 'adminPageStyles',
    tag: 'service',
    summary: "The admin page's style sheet",
    security: 'none',
    answer: { status: 200, description: 'CSS.', media: 'text/css' },
  },
  {
    method: 'get',
    path: '/admin/admin.js',
    operationId: 'adminPageScript',
    tag: 'service',
    summary: "The admin page's script",
    security: 'none',
    answer: { status: 200, description: 'JavaScript.', media: 'text/javascript' },
  },
  // --- sync (a remote site) ---
  {
    method: 'get',
    path: '/sync/v1/site',
    operationId: 'getSiteInfo',
    tag: 'sync',
    summary: 'The calling site: its id, its stores and their sync types, the Open mSupply central URL',
    description:
      "The topology as far as the site's own rules need it: its own site in full (without its hardware id, login counters, app and sync times), every other site as its id and roles only (name `site <id>`, every other field at its default; the Open mSupply central with its URL), every store with its copies on the calling site, the central and the primary (all copies of the site's own stores). Never another site's name, code, server URL, app version, hardware id or sync times. `topologyVersion` is an opaque version of that topology: sent back as `?topologyVersion=`, it makes the central leave `topology` out while it is unchanged (it changes only when the admin changes sites, stores or copies).",
    security: 'site',
    query: siteInfoQuerySchema,
    answer: { status: 200, description: 'The site info.', json: 'SiteInfo' },
  },
  {
    method: 'post',
    path: '/sync/v1/push',
    operationId: 'push',
    tag: 'sync',
    summary: "Push a batch of the site's changes",
    description:
      'Idempotent per batch id: the same batch sent again is answered as the first time (`replayed`); another batch under a used id is a `batch_conflict`.',
    security: 'site',
    body: 'PushRequest',
    answer: { status: 200, description: 'What was accepted and what was refused, record by record.', json: 'PushResponse' },
    errors: ['batch_conflict'],
  },
  {
    method: 'post',
    path: '/sync/v1/pull',
    operationId: 'pull',
    tag: 'sync',
    summary: 'Pull the records routed to the site after a cursor',
    security: 'site',
    body: 'PullRequest',
    answer: { status: 200, description: 'A page of records, the next cursor and how many remain.', json: 'PullResponse' },
  },
  {
    method: 'get',
    path: '/sync/v1/status',
    operationId: 'getSiteStatus',
    tag: 'sync',
    summary: 'How many records wait for the site after a cursor, and its refused records',
    description: '`sitesync-remote status` sends its pull cursor and shows `waiting` as what is incoming.',
    security: 'site',
    query: statusQuerySchema,
    answer: { status: 200, description: 'The site status.', json: 'SiteStatus' },
  },
  // --- admin: tokens ---
  {
    method: 'get',
    path: '/admin/v1/whoami',
    operationId: 'whoAmI',
    tag: 'tokens',
    summary: 'The role and token id of the caller',
    security: 'viewer',
    answer: { status: 200, description: 'The caller.', json: 'WhoAmI' },
  },
  {
    method: 'get',
    path: '/admin/v1/tokens',
    operationId: 'listTokens',
    tag: 'tokens',
    summary: 'The admin API tokens (never their secrets)',
    security: 'admin',
    answer: { status: 200, description: 'The startup token, then the issued ones.', json: 'AdminTokens' },
  },
  {
    method: 'post',
    path: '/admin/v1/tokens',
    operationId: 'issueToken',
    tag: 'tokens',
    summary: 'Issue an admin or view-only token',
    security: 'admin',
    body: 'IssueTokenRequest',
    answer: { status: 201, description: 'The token, its secret shown this once.', json: 'IssuedToken' },
  },
  {
    method: 'post',
    path: '/admin/v1/tokens/{id}/rotate',
    operationId: 'rotateToken',
    tag: 'tokens',
    summary: 'A new secret for an issued token (the old one stops working at once)',
    security: 'admin',
    params: tokenId,
    answer: { status: 200, description: 'The token, its new secret shown this once.', json: 'IssuedToken' },
  },
  {
    method: 'delete',
    path: '/admin/v1/tokens/{id}',
    operationId: 'revokeToken',
    tag: 'tokens',
    summary: 'Revoke an issued token',
    security: 'admin',
    params: tokenId,
    answer: { status: 200, description: 'Revoked.', json: 'RevokedToken' },
  },
  ...ADMIN_API_ROUTES,
] as const satisfies readonly ApiRoute[];
