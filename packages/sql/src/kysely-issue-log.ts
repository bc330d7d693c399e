import type { IssueLog, IssueQuery, IssueReport, RuleViolation, SyncIssue, SyncRecord } from '@sitesync/domain';
import { sql, type Kysely, type Selectable } from 'kysely';
import { chunks } from './kysely-helpers';
import type { SyncDb, SyncIssueTable } from './schema';
import { parseJson, parseTime, type SqlFlavour } from './sql-flavour';

export class KyselyIssueLog implements IssueLog {
  constructor(
    private readonly db: Kysely<SyncDb>,
    private readonly flavour: SqlFlavour,
  ) {}

  async report(key: string, violation: RuleViolation, at: Date, options: IssueReport = {}): Promise<void> {
    const time = this.flavour.time(at);
    const count = options.count ?? 1;
    const subject = options.subject !== undefined ? JSON.stringify(options.subject) : null;
    await this.db
      .insertInto('sync_issue')
      .values({ key, violation: JSON.stringify(violation), code: violation.code, subject, first_seen_at: time, last_seen_at: time, occurrences: count })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet((eb) => ({
          violation: eb.ref('excluded.violation'),
          code: eb.ref('excluded.code'),
          ...(subject !== null ? { subject: eb.ref('excluded.subject') } : {}),
          last_seen_at: eb.ref('excluded.last_seen_at'),
          occurrences: sql`sync_issue.occurrences + ${count}`,
        })),
      )
      .execute();
  }

  async acknowledge(key: string, at: Date, by: string): Promise<boolean> {
    const result = await this.db
      .updateTable('sync_issue')
      .set({ acknowledged_at: this.flavour.time(at), acknowledged_by: by })
      .where('key', '=', key)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async get(key: string): Promise<SyncIssue | null> {
    const row = await this.db.selectFrom('sync_issue').selectAll().where('key', '=', key).executeTakeFirst();
    return row ? issueOf(row) : null;
  }

  async resolve(key: string): Promise<void> {
    await this.db.deleteFrom('sync_issue').where('key', '=', key).execute();
  }

  async resolveMany(keys: readonly string[]): Promise<void> {
    for (const part of chunks([...new Set(keys)])) await this.db.deleteFrom('sync_issue').where('key', 'in', part).execute();
  }

  async open(query: IssueQuery = {}): Promise<readonly SyncIssue[]> {
    let select = this.db.selectFrom('sync_issue').selectAll();
    if (query.prefix) select = select.where(keyStartsWith(this.flavour, query.prefix));
    if (query.afterKey !== undefined) select = select.where('key', '>', query.afterKey);
    if (query.code !== undefined) select = select.where('code', '=', query.code);
    if (query.acknowledged !== undefined) select = select.where('acknowledged_at', query.acknowledged ? 'is not' : 'is', null);
    select = select.orderBy('key');
    if (query.limit !== undefined) select = select.limit(query.limit);
    return (await select.execute()).map(issueOf);
  }

  async trim(prefix: string, keep: number): Promise<number> {
    const kept = this.db
      .selectFrom('sync_issue')
      .select('key')
      .where(keyStartsWith(this.flavour, prefix))
      .orderBy('last_seen_at', 'desc')
      .orderBy('key', 'desc')
      .limit(Math.max(0, keep));
    const result = await this.db.deleteFrom('sync_issue').where(keyStartsWith(this.flavour, prefix)).where('key', 'not in', kept).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

function issueOf(row: Selectable<SyncIssueTable>): SyncIssue {
  return {
    key: row.key,
    violation: parseJson(row.violation) as RuleViolation,
    firstSeenAt: parseTime(row.first_seen_at),
    lastSeenAt: parseTime(row.last_seen_at),
    occurrences: Number(row.occurrences),
    subject: row.subject === null ? null : (parseJson(row.subject) as SyncRecord),
    acknowledgedAt: row.acknowledged_at === null ? null : parseTime(row.acknowledged_at),
    acknowledgedBy: row.acknowledged_by,
  };
}

/**
 * `key` starts with `prefix`, compared as plain characters on every engine (no collation, no LIKE
 * wildcards): a range in code-point order, which the key's index serves, and an exact check.
 */
function keyStartsWith(flavour: SqlFlavour, prefix: string) {
  const key = flavour.issueKeyInCodePointOrder;
  if (prefix === '') return sql<boolean>`true`;
  // every string that starts with `prefix` sorts before `prefix` with its last character raised by one
  const upper = `${prefix.slice(0, -1)}${String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)}`;
  return sql<boolean>`${key} >= ${prefix} and ${key} < ${upper} and substr(key, 1, ${sql.lit(prefix.length)}) = ${prefix}`;
}
