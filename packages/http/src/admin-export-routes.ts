import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { exportSite, hasRole, queuePatientsOfStore, SITE_EXPORT_FORMAT, SITE_EXPORT_VERSION } from '@sitesync/domain';
import express from 'express';
import { z } from 'zod';
import { queuedSchema, ruleViolationSchema } from './admin-wire';
import type { AdminRoutesDeps } from './admin-routes';
import { SyncHttpError } from './error-codes';
import { parseSiteId, siteOrNotFound } from './request-parsing';
import { cursorSchema, siteSchema, storeSchema } from './wire';

/** The first line of a site export (`GET /admin/v1/sites/:id/export`): what `exportSite` says about it. */
export const siteExportHeaderSchema = z.object({
  format: z.literal(SITE_EXPORT_FORMAT),
  version: z.literal(SITE_EXPORT_VERSION),
  siteId: z.int().positive(),
  siteName: z.string(),
  exportedAt: z.iso.datetime({ offset: true }),
  feedCursor: cursorSchema,
  queueCursor: cursorSchema,
  topology: z.object({ sites: z.array(siteSchema), stores: z.array(storeSchema) }),
  warnings: z.array(ruleViolationSchema),
});
export type SiteExportHeaderJson = z.infer<typeof siteExportHeaderSchema>;

/**
 * The last line of a complete site export: how many record lines came before it, and the SHA-256
 * (hex) of every line before it, each with its newline. A file without it was cut short.
 */
export const siteExportTrailerSchema = z.strictObject({
  end: z.literal(SITE_EXPORT_FORMAT),
  records: z.int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'the SHA-256 of the lines before, in lower-case hex'),
});
export type SiteExportTrailer = z.infer<typeof siteExportTrailerSchema>;

/** `POST /admin/v1/stores/:id/resync-patients`: how many records were queued to each site. */
export const resyncPatientsResponseSchema = z.object({ storeId: z.string(), examined: z.int().min(0), queued: queuedSchema });
export type ResyncPatientsResponse = z.infer<typeof resyncPatientsResponseSchema>;

/**
 * The admin routes that read or queue much data: a site's export (streamed as NDJSON, gzip when the
 * client accepts it) and "resync the patients of a store".
 */
export function adminExportRoutes(deps: AdminRoutesDeps): express.Router {
  const { storage, logger, topologies, clock } = deps;
  const admin = express.Router();

  admin.get('/sites/:id/export', async (req, res) => {
    const siteId = parseSiteId(req.params['id']);
    const site = siteOrNotFound(await topologies.load(), siteId);
    if (hasRole(site, 'central')) {
      throw SyncHttpError.of('validation_failed', `Site ${siteId} "${site.name}" is the central: it does not sync with itself. Export a remote site.`, [
        { path: 'id', message: 'a remote site' },
      ]);
    }
    const exported = await exportSite(storage, (s) => topologies.current(s), siteId, clock.now());
    const gzip = req.acceptsEncodings('gzip', 'identity') === 'gzip';
    res.status(200);
    res.set('content-type', 'application/x-ndjson; charset=utf-8');
    res.set('content-disposition', `attachment; filename="site-${siteId}-export.ndjson"`);
    res.set('cache-control', 'no-store');
    res.vary('accept-encoding');
    // Compressed here (the app's compression leaves a body it already finds encoded alone), a line at a time.
    if (gzip) res.set('content-encoding', 'gzip');
    const out: Writable = gzip ? createGzip() : res;
    if (gzip) out.pipe(res);
    let gone = false;
    res.once('close', () => (gone = true));
    const digest = createHash('sha256');
    const write = async (value: unknown, last = false): Promise<void> => {
      const line = `${JSON.stringify(value)}\n`;
      if (!last) digest.update(line, 'utf8');
      if (!out.write(line) && !gone) await drained();
    };
    /** Until the answer takes more, or the client is gone. */
    const drained = () =>
      new Promise<void>((resolve) => {
        const done = () => {
          out.off('drain', done);
          res.off('close', done);
          resolve();
        };
        out.on('drain', done);
        res.on('close', done);
      });
    let records = 0;
    try {
      await write(exported.header);
      for await (const page of exported.pages) {
        if (gone) break;
        for (const record of page) await write(record);
        records += page.length;
      }
      if (gone) {
        if (gzip) out.destroy();
        res.destroy(); // the connection too: an answer never ended would keep it open
        logger.warn({ siteId, records }, 'site export: the client went away before the end');
        return;
      }
      await write({ end: SITE_EXPORT_FORMAT, records, sha256: digest.digest('hex') }, true);
      out.end();
      logger.info({ siteId, records, feedCursor: exported.header.feedCursor }, 'site exported');
    } catch (error) {
      // The answer has begun: it can only be cut short. Without its last line the client knows it is incomplete.
      logger.error({ err: error, siteId, records }, 'site export failed after it began; the answer was cut short');
      if (gzip) out.destroy();
      res.destroy();
    }
  });

  admin.post('/stores/:id/resync-patients', async (req, res) => {
    const storeId = String(req.params['id']);
    if (!(await topologies.load()).store(storeId)) {
      throw SyncHttpError.of('not_found', `There is no store "${storeId}". List the stores (GET /admin/v1/stores) to see them.`);
    }
    const report = await storage.run(async (s) => queuePatientsOfStore(s, await topologies.current(s), storeId));
    const queued = Object.fromEntries([...report.queued].map(([siteId, n]) => [String(siteId), n]));
    logger.info({ storeId, examined: report.examined, queued }, 'patients of a store queued again');
    res.json({ storeId, examined: report.examined, queued });
  });

  return admin;
}
