/** The OpenAPI 3.1 document of the sync and admin API, generated from the zod schemas (filled in by the OpenAPI work). */
export function openApiDocument(): Record<string, unknown> {
  return { openapi: '3.1.0', info: { title: 'sitesync central API', version: '1' }, paths: {} };
}
