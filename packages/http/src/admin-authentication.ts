import type { Request, RequestHandler } from 'express';
import type { AdminCaller, AdminTokens } from './admin-tokens';
import type { CentralAppLogger } from './create-central-app';
import { SyncHttpError } from './error-codes';

/** Reads a view-only token may not make either: they hand out secrets or a site's whole data. */
const ADMIN_ONLY_READS = [/^\/tokens(\/|$)/, /^\/sites\/[^/]+\/export$/] as const;

export interface AdminAuthentication {
  /** Authenticates the bearer token, then lets a view-only token through only for reads. */
  readonly requireAdmin: RequestHandler;
  /** The caller of an authenticated admin request. */
  callerOf(req: Request): AdminCaller;
}

export function adminAuthentication(tokens: AdminTokens, logger: CentralAppLogger): AdminAuthentication {
  const callers = new WeakMap<Request, AdminCaller>();

  const requireAdmin: RequestHandler = async (req, _res, next) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    const caller = match ? await tokens.callerOf(match[1]!) : null;
    if (!caller) {
      logger.warn({ ip: req.ip, path: req.path }, 'admin request refused: wrong or missing admin token');
      throw SyncHttpError.of(
        'admin_auth_failed',
        'Wrong or missing admin token: send "Authorization: Bearer <token>" with the token the central was started with or one issued by POST /admin/v1/tokens.',
      );
    }
    const reads = req.method === 'GET' || req.method === 'HEAD';
    if (caller.role !== 'admin' && (!reads || ADMIN_ONLY_READS.some((pattern) => pattern.test(req.path)))) {
      logger.warn({ ip: req.ip, method: req.method, path: req.path, tokenId: caller.tokenId }, 'admin request refused: view-only token');
      throw SyncHttpError.of(
        'forbidden',
        `This token is view-only (role ${caller.role}): it may read sites, stores, issues and reports but not ${reads ? 'read' : 'change'} ${req.method} ${req.baseUrl}${req.path}. Use an admin token.`,
        { role: caller.role, tokenId: caller.tokenId },
      );
    }
    callers.set(req, caller);
    next();
  };

  return {
    requireAdmin,
    callerOf(req) {
      const caller = callers.get(req);
      if (!caller) throw new Error('admin route reached without admin authentication');
      return caller;
    },
  };
}
