import { z } from 'zod';
import { ERROR_STATUS, SYNC_ERROR_CODES, type SyncErrorCode } from './error-codes';
import { API_ROUTES, API_SCHEMAS, API_TAGS, type ApiRoute, type ApiSchemaName, type ApiSecurity, type ApiTag } from './openapi-routes';
import { errorBodySchema, HEADERS, SYNC_API_VERSION, syncRecordSchema } from './wire';

/** A JSON Schema (OpenAPI 3.1 schemas are JSON Schema 2020-12). */
export type JsonSchema = { [key: string]: unknown };

/** The error codes every route of a security may answer, besides those of its body, path and query. */
export const SECURITY_ERRORS: Record<ApiSecurity, readonly SyncErrorCode[]> = {
  none: [],
  site: [
    'validation_failed',
    'auth_required',
    'site_auth_failed',
    'site_incorrect_hardware_id',
    'site_blocked',
    'api_version_incompatible',
    'rate_limited',
    'not_initialised',
    'database_unavailable',
    'internal',
  ],
  viewer: ['admin_auth_failed', 'not_initialised', 'database_unavailable', 'internal'],
  admin: ['admin_auth_failed', 'forbidden', 'not_initialised', 'database_unavailable', 'internal'],
};

const TAG_DESCRIPTIONS: Record<ApiTag, string> = {
  service: 'Health, metrics, this document and the admin page: no authentication.',
  sync: 'The sync API a remote site calls (Basic auth of the site and the sync headers).',
  tokens: 'Who is calling, and the admin API tokens.',
  sites: 'The sync sites.',
  stores: 'The stores and their copies on the sites.',
  records: 'Records written on the central.',
  issues: 'The issue log: records refused, transfers that could not be completed.',
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** What a record's `data` is: z.custom has no JSON Schema of its own. */
const RECORD_DATA: JsonSchema = {
  type: 'object',
  description: "The record's fields as a JSON object; what they may hold is checked per record (one bad record is refused alone).",
};

/**
 * The JSON Schema of what travels: the input side of a zod schema. For requests that is what the
 * route accepts; for answers it is what the client's schema accepts from the JSON (the output side
 * would be the Dates and defaults the client gets after parsing, which are not JSON).
 */
function jsonSchemaOf(schema: z.ZodType, defs: Record<string, JsonSchema>): JsonSchema {
  const json = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: ({ zodSchema }) => ((zodSchema as unknown) === syncRecordSchema.shape.data ? { ...RECORD_DATA } : 'any'),
    override: ({ jsonSchema }) => {
      // the datetime regex zod adds says no more than the format, and buries it
      if (jsonSchema.format === 'date-time') delete jsonSchema.pattern;
    },
  }) as JsonSchema;
  const { $defs, ...rest } = json;
  delete rest.$schema; // the document's dialect (JSON Schema 2020-12) is OpenAPI 3.1's own
  // Shared or cyclic parts zod puts in $defs move to components.schemas (a "#/$defs/x" would resolve against the document's root).
  for (const [name, def] of Object.entries(($defs ?? {}) as Record<string, JsonSchema>)) defs[name] = rewriteDefRefs(def) as JsonSchema;
  return rewriteDefRefs(rest) as JsonSchema;
}

function rewriteDefRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteDefRefs);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      key === '$ref' && typeof inner === 'string' ? inner.replace(/^#\/\$defs\//, '#/components/schemas/') : rewriteDefRefs(inner),
    ]),
  );
}

/** Every error code a route may answer: of its security, its body, its path and query parameters, and its own. */
export function errorCodesOf(route: ApiRoute): SyncErrorCode[] {
  const codes = new Set<SyncErrorCode>(SECURITY_ERRORS[route.security]);
  if (route.body !== undefined) ['validation_failed', 'payload_too_large'].forEach((c) => codes.add(c as SyncErrorCode));
  if (route.query !== undefined) codes.add('validation_failed');
  if (route.params !== undefined) ['validation_failed', 'not_found'].forEach((c) => codes.add(c as SyncErrorCode));
  for (const code of route.errors ?? []) codes.add(code);
  return SYNC_ERROR_CODES.filter((code) => codes.has(code));
}

function securityOf(security: ApiSecurity): { security: Record<string, string[]>[]; 'x-sitesync-roles'?: string[] } {
  switch (security) {
    case 'none':
      return { security: [] };
    case 'site':
      return { security: [{ siteBasic: [] }] };
    case 'viewer':
      return { security: [{ adminBearer: [] }], 'x-sitesync-roles': ['admin', 'viewer'] };
    case 'admin':
      return { security: [{ adminBearer: ['admin'] }], 'x-sitesync-roles': ['admin'] };
  }
}

function parameterOf(name: string, where: 'path' | 'query', schema: JsonSchema, required: boolean): JsonSchema {
  const { description, ...rest } = schema;
  return { name, in: where, required, ...(typeof description === 'string' ? { description } : {}), schema: rest };
}

function operationOf(route: ApiRoute, defs: Record<string, JsonSchema>): JsonSchema {
  const where = `${route.method.toUpperCase()} ${route.path}`;
  const parameters: JsonSchema[] = [];
  for (const [, name] of route.path.matchAll(/\{([^}]+)\}/g)) {
    const schema = route.params?.[name!];
    if (!schema) throw new Error(`API_ROUTES, ${where}: the path parameter {${name}} has no schema in its params`);
    parameters.push(parameterOf(name!, 'path', jsonSchemaOf(schema, defs), true));
  }
  if (route.query) {
    const query = jsonSchemaOf(route.query, defs);
    const required = new Set((query.required ?? []) as string[]);
    for (const [name, schema] of Object.entries((query.properties ?? {}) as Record<string, JsonSchema>)) {
      parameters.push(parameterOf(name, 'query', schema, required.has(name)));
    }
  }
  if (route.security === 'site') parameters.push(...SITE_HEADER_PARAMETERS.map((p) => ({ $ref: `#/components/parameters/${p}` })));

  const { answer } = route;
  const success: JsonSchema = { description: answer.description };
  if (answer.json) success.content = { 'application/json': { schema: ref(answer.json) } };
  else if (answer.media) {
    const lines = answer.lines;
    success.content = {
      [answer.media]: {
        schema: answer.media === 'application/json' ? { type: 'object' } : { type: 'string' },
        ...(lines ? { 'x-sitesync-lines': { first: ref(lines.first), each: ref(lines.each), last: ref(lines.last) } } : {}),
      },
    };
  }
  const responses: Record<string, JsonSchema> = { [String(answer.status)]: success };
  const byStatus = new Map<number, SyncErrorCode[]>();
  for (const code of errorCodesOf(route)) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  for (const status of [...byStatus.keys()].sort((a, b) => a - b)) {
    responses[String(status)] = {
      description: `An error: ${byStatus.get(status)!.join(', ')}.`,
      content: { 'application/json': { schema: ref('ErrorBody') } },
    };
  }

  return {
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary,
    ...(route.description !== undefined ? { description: route.description } : {}),
    ...securityOf(route.security),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body !== undefined
      ? { requestBody: { required: route.bodyOptional !== true, content: { 'application/json': { schema: ref(route.body) } } } }
      : {}),
    responses,
  };
}

const SITE_HEADER_PARAMETERS = ['ApiVersion', 'HardwareId', 'AppName', 'AppVersion'] as const;

function siteHeaderParameters(): Record<(typeof SITE_HEADER_PARAMETERS)[number], JsonSchema> {
  const header = (name: string, required: boolean, description: string, schema: JsonSchema) => ({ name, in: 'header', required, description, schema });
  const text = { type: 'string', maxLength: 200 };
  return {
    ApiVersion: header(HEADERS.apiVersion, true, `The sync API version the site speaks (today ${SYNC_API_VERSION}).`, {
      type: 'string',
      pattern: '^\\d{1,6}$',
    }),
    HardwareId: header(
      HEADERS.hardwareId,
      false,
      'An id of the device; the central binds the site to the first one it sees. Without it a bound site is refused as another device.',
      text,
    ),
    AppName: header(HEADERS.appName, false, "The site's app name, recorded on the site.", text),
    AppVersion: header(HEADERS.appVersion, false, "The site's app version, recorded on the site.", text),
  };
}

function errorSchemas(defs: Record<string, JsonSchema>): Record<string, JsonSchema> {
  const body = jsonSchemaOf(errorBodySchema, defs) as { properties: { error: { properties: Record<string, JsonSchema> } } };
  body.properties.error.properties.code = ref('ErrorCode');
  body.properties.error.properties.data = { description: 'Details that depend on the code, e.g. the problems of a validation_failed: [{"path","message"}].' };
  return {
    ErrorBody: { ...body, description: 'Every error answer of the API: {"error":{"code","message","data"}}.' },
    ErrorCode: {
      type: 'string',
      enum: [...SYNC_ERROR_CODES],
      description: `The stable error codes, each with its HTTP status: ${SYNC_ERROR_CODES.map((c) => `${c} ${ERROR_STATUS[c]}`).join(', ')}.`,
      'x-sitesync-status': { ...ERROR_STATUS },
    },
  };
}

/** The OpenAPI 3.1 document of routes (API_ROUTES by default), their schemas converted from zod. */
export function buildOpenApiDocument(routes: readonly ApiRoute[] = API_ROUTES): JsonSchema {
  const defs: Record<string, JsonSchema> = {};
  const schemas: Record<string, JsonSchema> = {};
  for (const [name, schema] of Object.entries(API_SCHEMAS) as [ApiSchemaName, z.ZodType][]) schemas[name] = jsonSchemaOf(schema, defs);
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const item = (paths[route.path] ??= {});
    if (item[route.method]) throw new Error(`API_ROUTES lists ${route.method.toUpperCase()} ${route.path} twice`);
    item[route.method] = operationOf(route, defs);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'sitesync central API',
      version: String(SYNC_API_VERSION),
      description:
        'The sync API remote sites call (/sync/v1) and the admin API (/admin/v1) of a sitesync central server. ' +
        'Request bodies are JSON, optionally gzip or deflate encoded (Content-Encoding). Every error answer is an ErrorBody. ' +
        'Generated from the zod schemas the routes and clients parse with; see docs/openapi.md and docs/sync-api.md.',
    },
    tags: API_TAGS.map((name) => ({ name, description: TAG_DESCRIPTIONS[name] })),
    paths,
    components: {
      schemas: { ...defs, ...schemas, ...errorSchemas(defs) },
      parameters: siteHeaderParameters(),
      securitySchemes: {
        siteBasic: {
          type: 'http',
          scheme: 'basic',
          description:
            'A remote site: Basic base64(<site name>:<SHA-256 hex of the site password>), with the headers ' +
            `${HEADERS.apiVersion} (required), ${HEADERS.hardwareId}, ${HEADERS.appName} and ${HEADERS.appVersion}.`,
        },
        adminBearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An admin API token: the one the central was started with, or one issued by POST /admin/v1/tokens with the role admin or viewer. ' +
            'A viewer token may only read (and not the tokens or a site export); the roles an operation needs are in its x-sitesync-roles.',
        },
      },
    },
  };
}

let built: JsonSchema | null = null;

/** The OpenAPI 3.1 document of the sync and admin API (GET /openapi.json), built once. */
export function openApiDocument(): JsonSchema {
  built ??= buildOpenApiDocument();
  return built;
}
