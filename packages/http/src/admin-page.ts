import express from 'express';

/** The admin web page served at /admin (filled in by the admin page work). */
export function adminPage(): express.Router {
  const page = express.Router();
  page.get('/', (_req, res) => {
    res.type('html').send('<!doctype html><title>sitesync admin</title>');
  });
  return page;
}
