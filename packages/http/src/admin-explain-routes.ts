import express from 'express';

/** Explain: for a record the central holds, every site's decision with the rule and the reason (filled in by the explain work). */
export function adminExplainRoutes(): express.Router {
  return express.Router();
}
