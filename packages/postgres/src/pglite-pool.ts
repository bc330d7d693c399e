import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';

/** What the pool needs of a PGlite instance (structural, so this package does not import PGlite). */
export interface PGliteLike {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[]; affectedRows?: number }>;
  close(): Promise<void>;
}

const COMMANDS = ['INSERT', 'UPDATE', 'DELETE', 'MERGE', 'SELECT'] as const;

/**
 * Kysely's Postgres dialect over PGlite. PGlite is one connection: the pool hands it to one holder
 * at a time (a Kysely transaction keeps it until it commits), so two transactions never interleave
 * their statements.
 */
export function pglitePool(pglite: PGliteLike, options: { closeOnEnd?: boolean } = {}): PostgresPool {
  let tail: Promise<void> = Promise.resolve();
  return {
    async connect(): Promise<PostgresPoolClient> {
      let release!: () => void;
      const previous = tail;
      tail = new Promise<void>((resolve) => (release = resolve));
      await previous;
      let released = false;
      const client = {
        async query<R>(text: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
          const result = await pglite.query<R>(text, [...parameters]);
          const word = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase();
          const command = (COMMANDS as readonly string[]).includes(word ?? '') ? (word as PostgresQueryResult<R>['command']) : 'SELECT';
          return { command, rowCount: result.affectedRows ?? result.rows.length, rows: result.rows };
        },
        release(): void {
          if (released) return;
          released = true;
          release();
        },
      };
      return client as PostgresPoolClient;
    },
    async end(): Promise<void> {
      if (options.closeOnEnd) await pglite.close();
    },
  };
}
