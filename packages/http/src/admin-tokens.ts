import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Clock, SettingsStore, SyncStorage, UnitOfWork } from '@sitesync/domain';

/** What an admin token may do: `admin` everything, `viewer` read every list and report, change nothing. */
export const ADMIN_ROLES = ['admin', 'viewer'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

/** The setting holding the issued tokens (their SHA-256, never the token). */
export const ADMIN_TOKENS_SETTING = 'central.admin-tokens';
/** The id of the token the central was started with (its data directory's `admin-token`, or --admin-token). */
export const STARTUP_TOKEN_ID = 'startup';

export interface AdminTokenInfo {
  readonly id: string;
  readonly role: AdminRole;
  readonly label: string;
  readonly createdAt: string;
  readonly rotatedAt: string | null;
}

interface StoredToken extends AdminTokenInfo {
  /** SHA-256 hex of the token: tokens are 32 random bytes, so a fast hash is enough to make a stolen database useless */
  readonly digest: string;
}

export interface AdminCaller {
  readonly role: AdminRole;
  readonly tokenId: string;
}

/**
 * The admin API's tokens: the one the central was started with (always admin; changed by restarting
 * with another), and tokens issued through the API, kept hashed in the central's settings, each with
 * a role, rotatable (same id and role, new secret) and revocable. Read from the database on every
 * check, so every central process serving the database sees a rotation at once. A change reads
 * and writes the list in one unit of work holding the central's configuration lock (the topology
 * lock, `TopologyRepository.lock`), so two processes issuing tokens at once both keep theirs.
 */
export class AdminTokens {
  private readonly startupDigest: Buffer;

  constructor(
    private readonly storage: UnitOfWork & { readonly storage: SyncStorage },
    private readonly clock: Clock,
    startupToken: string,
  ) {
    this.startupDigest = digest(startupToken);
  }

  /** Reads and writes the list of tokens holding the configuration lock. */
  private changing<T>(work: (tokens: StoredToken[], save: (next: readonly StoredToken[]) => Promise<void>) => Promise<T>): Promise<T> {
    return this.storage.run(async (s) => {
      await s.topology.lock();
      return work(await storedIn(s.settings), (next) => s.settings.set(ADMIN_TOKENS_SETTING, next));
    });
  }

  /** The caller a presented token identifies, or null. */
  async callerOf(token: string): Promise<AdminCaller | null> {
    const presented = digest(token);
    if (timingSafeEqual(presented, this.startupDigest)) return { role: 'admin', tokenId: STARTUP_TOKEN_ID };
    for (const stored of await this.stored()) {
      if (timingSafeEqual(presented, Buffer.from(stored.digest, 'hex'))) return { role: stored.role, tokenId: stored.id };
    }
    return null;
  }

  async list(): Promise<AdminTokenInfo[]> {
    const startup: AdminTokenInfo = { id: STARTUP_TOKEN_ID, role: 'admin', label: 'the token the central was started with', createdAt: '', rotatedAt: null };
    return [startup, ...(await this.stored()).map(infoOf)];
  }

  /** Issues a token; the secret is returned once and never kept. */
  async issue(role: AdminRole, label: string): Promise<AdminTokenInfo & { token: string }> {
    return this.changing(async (tokens, save) => {
      const token = newToken();
      const info: AdminTokenInfo = { id: randomUUID(), role, label, createdAt: this.clock.now().toISOString(), rotatedAt: null };
      await save([...tokens, { ...info, digest: digest(token).toString('hex') }]);
      return { ...info, token };
    });
  }

  /** A new secret for an issued token (same id and role); the old one stops working at once. Null when there is no such token. */
  async rotate(id: string): Promise<(AdminTokenInfo & { token: string }) | null> {
    return this.changing(async (tokens, save) => {
      const old = tokens.find((t) => t.id === id);
      if (!old) return null;
      const token = newToken();
      const info: AdminTokenInfo = { ...infoOf(old), rotatedAt: this.clock.now().toISOString() };
      await save(tokens.map((t) => (t.id === id ? { ...info, digest: digest(token).toString('hex') } : t)));
      return { ...info, token };
    });
  }

  /** Revokes an issued token; false when there is no such token. */
  async revoke(id: string): Promise<boolean> {
    return this.changing(async (tokens, save) => {
      if (!tokens.some((t) => t.id === id)) return false;
      await save(tokens.filter((t) => t.id !== id));
      return true;
    });
  }

  private stored(): Promise<StoredToken[]> {
    return storedIn(this.storage.storage.settings);
  }
}

async function storedIn(settings: SettingsStore): Promise<StoredToken[]> {
  const value = await settings.get(ADMIN_TOKENS_SETTING);
  return Array.isArray(value) ? (value as StoredToken[]) : [];
}

function infoOf(stored: StoredToken): AdminTokenInfo {
  return { id: stored.id, role: stored.role, label: stored.label, createdAt: stored.createdAt, rotatedAt: stored.rotatedAt };
}

function newToken(): string {
  return randomBytes(32).toString('base64url');
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
