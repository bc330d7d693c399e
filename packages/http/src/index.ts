export * from './wire';
export * from './admin-wire';
export * from './push-request';
export * from './error-codes';
export * from './scrypt-password-hasher';
export * from './create-central-app';
export * from './http-central-sync-gateway';
export { adminRoutes, STALE_AFTER_MS, type AdminRoutesDeps } from './admin-routes';
export { DEFAULT_LOGIN_LIMITS, LoginThrottle, type LoginLimits } from './login-throttle';
export { hardenServer, MAX_CONNECTIONS, REQUEST_TIMEOUT_MS } from './client-errors';
export { readSecret } from './secrets';
export { TopologyCache } from './topology-cache';
export {
  adminExportRoutes,
  resyncPatientsResponseSchema,
  siteExportHeaderSchema,
  siteExportTrailerSchema,
  type ResyncPatientsResponse,
  type SiteExportHeaderJson,
  type SiteExportTrailer,
} from './admin-export-routes';
export { ADMIN_ROLES, ADMIN_TOKENS_SETTING, AdminTokens, STARTUP_TOKEN_ID, type AdminCaller, type AdminRole, type AdminTokenInfo } from './admin-tokens';
export * from './admin-client';
export { createOmsCentralApp, type OmsCentralAppDeps, type OmsCentralIdentity } from './create-oms-central-app';
export { centralSiteVerifier, type CentralSiteVerifierDeps } from './central-site-verifier';
