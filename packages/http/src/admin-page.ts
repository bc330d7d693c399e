import express, { type Response } from 'express';
import { ADMIN_PAGE_CORE_SCRIPT } from './admin-page/page-core-script';
import { ADMIN_PAGE_EXPLAIN_SCRIPT } from './admin-page/page-explain-script';
import { ADMIN_PAGE_HTML } from './admin-page/page-html';
import { ADMIN_PAGE_SECTIONS_SCRIPT } from './admin-page/page-sections-script';
import { ADMIN_PAGE_CSS } from './admin-page/page-styles';

/** The page's script: its parts in one strict-mode scope, started once the document is parsed (`defer`). */
const ADMIN_PAGE_SCRIPT = `(function () {\n'use strict';\n${ADMIN_PAGE_CORE_SCRIPT}\n${ADMIN_PAGE_SECTIONS_SCRIPT}\n${ADMIN_PAGE_EXPLAIN_SCRIPT}\nstart();\n})();\n`;

/**
 * Everything the page loads comes from the central itself; no inline script or style, no framing.
 * The API is called with fetch and a bearer token (no cookie), so a cross-site page cannot act for the user.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function send(res: Response, type: string, body: string): void {
  res
    .type(type)
    .set({
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-cache',
    })
    .send(body);
}

/**
 * The admin web page (`/admin`): sites, stores and their copies, the issue log with explain, retry and
 * acknowledge, the sync report, under a bar naming the central. A static page (HTML, CSS, one
 * script) that calls the admin API (`/admin/v1`) with the token the user logs in with; it shows
 * edit controls only to the admin role. Served by the central itself: no build step, no CDN.
 */
export function adminPage(): express.Router {
  const page = express.Router();
  page.get('/', (req, res) => {
    // The page's URLs are relative (admin.js, v1/sites): they need the trailing slash, also behind a proxy's path prefix.
    if (!req.originalUrl.split('?')[0]!.endsWith('/')) {
      const last = req.baseUrl.split('/').pop() ?? 'admin';
      res.redirect(301, `${last}/`);
      return;
    }
    send(res, 'html', ADMIN_PAGE_HTML);
  });
  page.get('/admin.css', (_req, res) => send(res, 'css', ADMIN_PAGE_CSS));
  page.get('/admin.js', (_req, res) => send(res, 'js', ADMIN_PAGE_SCRIPT));
  return page;
}
