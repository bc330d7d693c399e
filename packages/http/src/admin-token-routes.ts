import express, { type Request, type RequestHandler } from 'express';
import { issueTokenRequestSchema } from './admin-wire';
import type { AdminCaller, AdminTokens } from './admin-tokens';
import type { CentralAppLogger } from './create-central-app';
import { SyncHttpError } from './error-codes';
import { parseBody } from './request-parsing';

export interface AdminTokenRoutesDeps {
  readonly tokens: AdminTokens;
  readonly callerOf: (req: Request) => AdminCaller;
  readonly jsonBody: RequestHandler;
  readonly logger: CentralAppLogger;
}

/** Who is calling, and the admin API's tokens: issue, rotate, revoke (admin role only; see admin-authentication). */
export function adminTokenRoutes(deps: AdminTokenRoutesDeps): express.Router {
  const { tokens, callerOf, jsonBody, logger } = deps;
  const admin = express.Router();

  admin.get('/whoami', (req, res) => {
    res.json(callerOf(req));
  });

  admin.get('/tokens', async (_req, res) => {
    res.json(await tokens.list());
  });

  admin.post('/tokens', jsonBody, async (req, res) => {
    const { role, label } = parseBody(issueTokenRequestSchema, req.body);
    const issued = await tokens.issue(role, label);
    logger.info({ tokenId: issued.id, role, by: callerOf(req).tokenId }, 'admin token issued');
    res.status(201).json(issued);
  });

  admin.post('/tokens/:id/rotate', async (req, res) => {
    const rotated = await tokens.rotate(req.params['id']!);
    if (!rotated) throw noSuchToken(req.params['id']!);
    logger.info({ tokenId: rotated.id, by: callerOf(req).tokenId }, 'admin token rotated');
    res.json(rotated);
  });

  admin.delete('/tokens/:id', async (req, res) => {
    if (!(await tokens.revoke(req.params['id']!))) throw noSuchToken(req.params['id']!);
    logger.info({ tokenId: req.params['id'], by: callerOf(req).tokenId }, 'admin token revoked');
    res.json({ revoked: req.params['id'] });
  });

  return admin;
}

function noSuchToken(id: string): SyncHttpError {
  return SyncHttpError.of(
    'not_found',
    id === 'startup'
      ? 'The startup token is not issued through the API: change it by restarting the central with another --admin-token (or a new admin-token file).'
      : `There is no issued token ${id}: GET /admin/v1/tokens lists them.`,
  );
}
