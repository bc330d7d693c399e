import type express from 'express';
import request from 'supertest';
import type { z } from 'zod';
import { errorBodySchema, issuedTokenSchema, SYNC_ERROR_CODES } from '../src/index';
import { API_ROUTES, API_SCHEMAS, type ApiRoute } from '../src/openapi-routes';
import { openApiDocument } from '../src/openapi';
import { adminHeaders, createTestCentral, headersOf, REMOTE1, type TestCentral } from './central-test-setup';

const CATALOGUE = 'API_ROUTES (packages/http/src/openapi-routes.ts, or ADMIN_API_ROUTES in openapi-admin-routes.ts; see docs/openapi.md)';
const keyOf = (method: string, path: string) => `${method.toUpperCase()} ${path}`;
const ROUTES: readonly ApiRoute[] = API_ROUTES;

// --- the routes the Express app really serves -------------------------------------------------

interface RouterLayer {
  readonly route?: { readonly path: unknown; readonly methods: Record<string, boolean | undefined> };
  readonly handle?: { readonly stack?: unknown };
  readonly rawPath?: unknown;
  readonly slash?: boolean;
  readonly matchers?: readonly ((path: string) => false | { readonly path: string })[];
}

/** The paths create-central-app.ts mounts routers at: for a router version that does not keep a layer's path. */
const KNOWN_MOUNTS = ['/sync/v1', '/admin/v1', '/admin'];

function mountPathOf(layer: RouterLayer): string {
  if (layer.slash === true) return '';
  if (typeof layer.rawPath === 'string') return layer.rawPath === '/' ? '' : layer.rawPath.replace(/\/+$/, '');
  const known = KNOWN_MOUNTS.find((mount) => {
    const match = layer.matchers?.[0]?.(mount);
    return match !== undefined && match !== false && match.path === mount;
  });
  if (known !== undefined) return known;
  throw new Error('openapi.test: cannot tell where a router is mounted (no rawPath on its layer): add its mount path to KNOWN_MOUNTS');
}

/** Express's `/sites/:id` as OpenAPI's `/sites/{id}` (a router's `/` mounted at `/admin` is `/admin/`). */
function openApiPathOf(path: string): string {
  return path.replace(/[:*](\w+)/g, '{$1}').replace(/\/{2,}/g, '/');
}

/** Every (method, path) the app's router and the routers mounted in it serve, as "GET /admin/v1/sites/{id}". */
function servedRoutes(app: express.Express): string[] {
  const served: string[] = [];
  const walk = (stack: readonly RouterLayer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const path of paths) {
          const methods = Object.keys(layer.route.methods).filter((m) => layer.route!.methods[m] === true);
          for (const method of methods) served.push(keyOf(method === '_all' ? 'all' : method, openApiPathOf(`${prefix}${String(path)}`)));
        }
      } else if (Array.isArray(layer.handle?.stack)) {
        walk(layer.handle.stack as RouterLayer[], `${prefix}${mountPathOf(layer)}`);
      }
    }
  };
  walk((app as unknown as { router: { stack: RouterLayer[] } }).router.stack, '');
  return served;
}

// --- calling a documented operation --------------------------------------------------------------

/** A value for a path parameter that names nothing: the route answers 404 (or 400), and changes nothing. */
function absentValueOf(schema: z.ZodType): string {
  return schema.safeParse(999999).success ? '999999' : 'no-such-id';
}

function urlOf(route: ApiRoute): string {
  return route.path.replace(/\{(\w+)\}/g, (_all, name: string) => encodeURIComponent(absentValueOf(route.params![name]!)));
}

function call(app: express.Express, route: ApiRoute, headers: Record<string, string>) {
  const req = request(app)[route.method](urlOf(route)).set(headers);
  return route.body !== undefined ? req.send({}) : req;
}

/** The statuses the document gives an operation: its success and the status of each of its error codes. */
function documentedStatuses(route: ApiRoute): Set<number> {
  const operation = (openApiDocument().paths as Record<string, Record<string, { responses: Record<string, unknown> }>>)[route.path]![route.method]!;
  return new Set(Object.keys(operation.responses).map(Number));
}

const isCatchAll404 = (res: request.Response) =>
  res.status === 404 && typeof res.body?.error?.message === 'string' && (res.body.error.message as string).startsWith('There is no route');

// --- the document's form ---------------------------------------------------------------------------

/** Every `$ref` in the document, and where it is. */
function refsIn(value: unknown, at: string, found: { at: string; ref: string }[] = []): { at: string; ref: string }[] {
  if (Array.isArray(value)) value.forEach((v, i) => refsIn(v, `${at}/${i}`, found));
  else if (typeof value === 'object' && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      if (key === '$ref' && typeof inner === 'string') found.push({ at, ref: inner });
      else refsIn(inner, `${at}/${key}`, found);
    }
  }
  return found;
}

function resolves(doc: unknown, ref: string): boolean {
  if (!ref.startsWith('#/')) return false;
  let node: unknown = doc;
  for (const part of ref
    .slice(2)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))) {
    if (typeof node !== 'object' || node === null || !(part in node)) return false;
    node = (node as Record<string, unknown>)[part];
  }
  return true;
}

type Operation = {
  operationId?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: { $ref?: string; name?: string; in?: string; required?: boolean }[];
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: { $ref?: string } }> }>;
};

function operationsOf(doc: Record<string, unknown>): { key: string; path: string; op: Operation }[] {
  return Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ key: keyOf(method, path), path, op })),
  );
}

describe('the OpenAPI document of the central API (GET /openapi.json)', () => {
  let central: TestCentral;
  beforeAll(async () => {
    central = await createTestCentral();
  });

  it('is served at /openapi.json, as built from the route catalogue', async () => {
    const res = await request(central.app).get('/openapi.json').expect(200);
    expect(res.body).toEqual(openApiDocument());
    expect(res.body.openapi).toBe('3.1.0');
    expect(operationsOf(res.body).map((o) => o.key)).toEqual(ROUTES.map((r) => keyOf(r.method, r.path)));
  });

  it('documents every route the central app serves', () => {
    const served = servedRoutes(central.app);
    expect(served).toContain('POST /sync/v1/push'); // the walk reaches the mounted routers
    const documented = new Set(ROUTES.map((r) => keyOf(r.method, r.path)));
    const missing = served.filter((key) => !documented.has(key)).map((key) => `${key} is served by the central app but missing from ${CATALOGUE}`);
    expect(missing).toEqual([]);
  });

  it('serves every documented operation, answering with a status the document lists and a body of its schema', async () => {
    const problems: string[] = [];
    for (const route of ROUTES) {
      const headers = route.security === 'site' ? headersOf(REMOTE1) : route.security === 'none' ? {} : adminHeaders;
      const res = await call(central.app, route, headers);
      const key = keyOf(route.method, route.path);
      if (isCatchAll404(res)) problems.push(`${key} is in ${CATALOGUE} but the central app does not serve it`);
      else if (!documentedStatuses(route).has(res.status))
        problems.push(`${key} answered ${res.status} (${res.text.slice(0, 200)}), a status its document does not list`);
      else if (res.status === route.answer.status && route.answer.json !== undefined) {
        const parsed = (API_SCHEMAS[route.answer.json] as z.ZodType).safeParse(res.body);
        if (!parsed.success) problems.push(`${key} answered a body that is not its ${route.answer.json}: ${parsed.error.message}`);
      } else if (res.status === route.answer.status && route.answer.media !== undefined && !res.type.startsWith(route.answer.media.split(';')[0]!)) {
        problems.push(`${key} answered ${res.type}, documented as ${route.answer.media}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('says who may call each operation: anyone, a site, any admin token, or only an admin-role token', async () => {
    const issued = await request(central.app).post('/admin/v1/tokens').set(adminHeaders).send({ role: 'viewer', label: 'openapi test' }).expect(201);
    const viewer = { authorization: `Bearer ${issuedTokenSchema.parse(issued.body).token}` };
    const problems: string[] = [];
    for (const route of ROUTES) {
      const key = keyOf(route.method, route.path);
      const anonymous = await call(central.app, route, {});
      const code = anonymous.status >= 400 ? errorBodySchema.parse(anonymous.body).error.code : null;
      const expected = { none: null, site: 'auth_required', viewer: 'admin_auth_failed', admin: 'admin_auth_failed' }[route.security];
      if (code !== expected)
        problems.push(`${key} (security ${route.security}) answered without credentials ${anonymous.status} ${code}, expected ${expected ?? 'no error'}`);
      if (route.security === 'viewer' || route.security === 'admin') {
        const asViewer = await call(central.app, route, viewer);
        const forbidden = asViewer.status === 403 && errorBodySchema.parse(asViewer.body).error.code === 'forbidden';
        if (forbidden !== (route.security === 'admin')) {
          problems.push(
            `${key} (security ${route.security}) answered a view-only token ${asViewer.status}: ${route.security === 'admin' ? 'expected 403 forbidden' : 'a viewer may call it'}`,
          );
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('is well formed OpenAPI 3.1: every $ref resolves, path parameters are declared, operation ids are unique, schemes and tags exist', () => {
    const doc = openApiDocument();
    const problems: string[] = [];
    expect(doc).toMatchObject({ openapi: '3.1.0', info: { title: expect.any(String), version: expect.any(String) } });
    for (const { at, ref } of refsIn(doc, '#')) if (!resolves(doc, ref)) problems.push(`${at}: $ref ${ref} does not resolve`);

    const components = doc.components as { securitySchemes: Record<string, unknown>; parameters: Record<string, { in: string }> };
    const tags = new Set((doc.tags as { name: string }[]).map((t) => t.name));
    const ids = new Map<string, string>();
    for (const { key, path, op } of operationsOf(doc)) {
      if (!op.operationId) problems.push(`${key}: no operationId`);
      else if (ids.has(op.operationId)) problems.push(`${key}: operationId ${op.operationId} is also ${ids.get(op.operationId)}'s`);
      else ids.set(op.operationId, key);
      for (const tag of op.tags ?? []) if (!tags.has(tag)) problems.push(`${key}: tag ${tag} is not declared`);
      for (const requirement of op.security ?? []) {
        for (const scheme of Object.keys(requirement))
          if (!(scheme in components.securitySchemes)) problems.push(`${key}: security scheme ${scheme} is not declared`);
      }
      const pathParams = (op.parameters ?? []).filter((p) => p.in === 'path');
      const inTemplate = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
      for (const name of inTemplate) {
        const declared = pathParams.filter((p) => p.name === name);
        if (declared.length !== 1 || declared[0]!.required !== true) problems.push(`${key}: path parameter {${name}} is not declared once, required`);
      }
      for (const p of pathParams) if (!inTemplate.includes(p.name!)) problems.push(`${key}: path parameter ${p.name} is not in the path`);
      const seen = new Set<string>();
      for (const p of op.parameters ?? []) {
        const resolved = p.$ref ? components.parameters[p.$ref.split('/').pop()!]! : p;
        const id = `${resolved.in} ${(resolved as { name?: string }).name}`;
        if (seen.has(id)) problems.push(`${key}: parameter ${id} twice`);
        seen.add(id);
      }
      const statuses = Object.keys(op.responses ?? {});
      if (!statuses.some((s) => /^2\d\d$/.test(s))) problems.push(`${key}: no success response`);
      for (const [status, response] of Object.entries(op.responses ?? {})) if (!response.description) problems.push(`${key} ${status}: no description`);
    }
    expect(problems).toEqual([]);
  });

  it('answers every error with the one ErrorBody schema, whose codes are those of SYNC_ERROR_CODES', () => {
    const doc = openApiDocument();
    const schemas = (doc.components as { schemas: Record<string, { enum?: unknown }> }).schemas;
    expect(schemas.ErrorCode!.enum).toEqual([...SYNC_ERROR_CODES]);
    const problems: string[] = [];
    for (const { key, op } of operationsOf(doc)) {
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        if (Number(status) < 400) continue;
        const media = Object.entries(response.content ?? {});
        if (media.length !== 1 || media[0]![0] !== 'application/json' || media[0]![1].schema?.$ref !== '#/components/schemas/ErrorBody') {
          problems.push(`${key} ${status}: not an application/json ErrorBody`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('describes every field of every schema: nothing zod could not convert is left as an empty schema', () => {
    const holes: string[] = [];
    const walk = (value: unknown, at: string) => {
      if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${at}/${i}`));
      else if (typeof value === 'object' && value !== null) {
        for (const [key, inner] of Object.entries(value)) {
          if (key === 'properties' || key === 'items' || key === 'anyOf') {
            const children: [string, unknown][] =
              key === 'properties' ? Object.entries(inner as object) : key === 'anyOf' ? (inner as unknown[]).map((c, i) => [String(i), c]) : [['', inner]];
            for (const [name, child] of children) if (JSON.stringify(child) === '{}') holes.push(`${at}/${key}/${name}`);
          }
          walk(inner, `${at}/${key}`);
        }
      }
    };
    walk((openApiDocument().components as { schemas: unknown }).schemas, '#/components/schemas');
    expect(holes).toEqual([]);
  });
});
