/**
 * A site's own settings and secrets (its credentials, its data file's id, its request size): JSON
 * values by key, kept apart from the records, so no record API can read or change them, and they
 * are never synced.
 */
export interface SettingsStore {
  /** The value kept under `key`, or null. */
  get(key: string): Promise<unknown>;
  /** Keeps `value` (any JSON value) under `key`, replacing what was there. */
  set(key: string, value: unknown): Promise<void>;
}
