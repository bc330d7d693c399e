import type { RequestHandler } from 'express';
import type { OmsCentralIdentity } from './create-oms-central-app';

const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * The Open mSupply central server's page (seed 000: "a distinct coloured bar at the bottom of the
 * interface which identifies the site as the central server"): who it is, what it serves, and
 * whether the mSupply central flags it; JSON for `Accept: application/json`.
 */
export function omsCentralPage(identity: () => OmsCentralIdentity): RequestHandler {
  return (req, res) => {
    const me = identity();
    const summary = {
      role: 'oms-central',
      banner: 'Open mSupply central server',
      siteId: me.siteId,
      siteName: me.siteName,
      flagged: me.flagged,
      url: me.url,
      centralUrl: me.centralUrl,
      lastCentralSyncAt: me.lastCentralSyncAt?.toISOString() ?? null,
    };
    if (req.accepts(['html', 'json']) === 'json') {
      res.json(summary);
      return;
    }
    const state = me.flagged
      ? `Remote sites sync their Open mSupply data with this server at ${escape(me.url ?? '')}.`
      : 'The mSupply central does not flag this site as the Open mSupply central server (as of its last sync): it serves nothing.';
    res.type('html').send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Open mSupply central server — site ${me.siteId}</title>
<style>body{font-family:system-ui,sans-serif;margin:0;padding:2rem 2rem 5rem}dt{font-weight:600}
#central-bar{position:fixed;left:0;right:0;bottom:0;padding:.75rem 2rem;background:#7b1fa2;color:#fff;font-weight:600}</style></head>
<body><h1>${escape(me.siteName)} (site ${me.siteId})</h1>
<p>${state}</p>
<dl><dt>mSupply central</dt><dd>${escape(me.centralUrl)}</dd>
<dt>Last sync with the mSupply central</dt><dd>${me.lastCentralSyncAt ? me.lastCentralSyncAt.toISOString() : 'never'}</dd>
<dt>Data configured here</dt><dd>item pack variants, asset catalogue, asset status reasons, demographic indicators</dd>
<dt>Data synchronised through here</dt><dd>assets, files, asset logs, store properties, immunisation programs and vaccine courses</dd></dl>
<div id="central-bar" role="status">Open mSupply central server</div></body></html>`);
  };
}
