import type { SyncRecord } from '../record';
import type { RuleViolation } from '../result';
import { describeSite, type SiteId } from '../site';
import type { Topology } from '../topology';
import { pushRefusal, type PushContext } from '../use-cases/push-checks';
import { classifyRecord } from './classify';
import { decideEdit } from './edit-rules';
import { decideReceipt, routeChange, type RoutingContext } from './routing-rules';

/**
 * One site's two decisions about one record, each with its rule id (a row of docs/sync-rules.md
 * tables R and E, or the refusal code) and its reason in words.
 */
export interface SiteDecision {
  readonly siteId: SiteId;
  readonly siteName: string;
  /** the site holds the record: the routing rules send it there (its own changes never come back to it) */
  readonly receives: boolean;
  readonly rule: string;
  readonly reason: string;
  /** the site may add, edit or delete the record (and push it) */
  readonly mayEdit: boolean;
  /** the edit rule when it may, the refusal code when it may not */
  readonly editRule: string;
  readonly editReason: string;
  /** what to do instead, when it may not edit it */
  readonly editFix: string | null;
}

/** A record's routing columns, and what the catalogue makes of them. */
export interface ExplainedRecord {
  readonly type: string;
  readonly id: string;
  readonly storeId: string | null;
  readonly otherPartyStoreId: string | null;
  readonly patientId: string | null;
  readonly homeStoreId: string | null;
  readonly deleted: boolean;
  /** the catalogue row and its category, null when the record does not classify */
  readonly label: string | null;
  readonly category: string | null;
}

export interface RecordExplanation {
  readonly record: ExplainedRecord;
  /** every site of the topology, central included, in topology order */
  readonly sites: readonly SiteDecision[];
  /** configuration that stops the record reaching a site, or keeps it from every site, with the fix */
  readonly problems: readonly RuleViolation[];
}

/**
 * For every site: does it receive `record`, may it edit it, by which rule and why. Computed by the
 * very predicates sync uses (`decideReceipt`: pulls, initialisation, store moves; `decideEdit`:
 * pushes, drops), so the answer is what the next pull does. `context` is the patients' visibility
 * as the central reads it for a pull (`visibilityContext`). A record that does not classify (an
 * unknown type or store) is received and edited nowhere, which is what sync does with it.
 */
export function explainRecord(topology: Topology, record: SyncRecord, context: RoutingContext = {}): RecordExplanation {
  const classified = classifyRecord(topology, record);
  const problems: RuleViolation[] = [];
  if (!classified.ok) problems.push(classified.error);
  const sites = topology.sites.map((site): SiteDecision => {
    const receipt = decideReceipt(topology, site.id, record, context);
    const edit = decideEdit(topology, site.id, record);
    return {
      siteId: site.id,
      siteName: site.name,
      ...(receipt.ok
        ? { receives: receipt.value.receives, rule: receipt.value.rule, reason: receipt.value.reason }
        : { receives: false, rule: receipt.error.code, reason: `${receipt.error.message} ${receipt.error.fix}` }),
      ...(edit.ok
        ? { mayEdit: true, editRule: edit.value.editRule, editReason: edit.value.reason, editFix: null }
        : { mayEdit: false, editRule: edit.error.code, editReason: edit.error.message, editFix: edit.error.fix }),
    };
  });
  if (classified.ok) {
    // the routing of a change made where the record is edited: its problems (a transfer without a copy) with their fix
    const origin = sites.find((s) => s.mayEdit)?.siteId ?? topology.central.id;
    const routing = routeChange(topology, origin, record, context);
    if (routing.ok) problems.push(...routing.value.problems);
  }
  return {
    record: {
      type: record.type,
      id: record.id,
      storeId: record.storeId ?? null,
      otherPartyStoreId: record.otherPartyStoreId ?? null,
      patientId: record.patientId ?? null,
      homeStoreId: record.homeStoreId ?? null,
      deleted: record.deleted === true,
      label: classified.ok ? classified.value.row.label : null,
      category: classified.ok ? classified.value.row.category : null,
    },
    sites,
    problems,
  };
}

/** The issue-log key of a record the central refused from a site: `quarantine:<siteId>:<type>:<id>`. */
export interface QuarantineKey {
  readonly siteId: SiteId;
  readonly recordType: string;
  /** as the key holds it (control characters escaped, cut after 400 characters) */
  readonly recordId: string;
}

/** Reads a quarantine key, or null for any other key. */
export function parseQuarantineKey(key: string): QuarantineKey | null {
  const match = /^quarantine:(\d{1,9}):([^:]*):([\s\S]*)$/.exec(key);
  if (!match) return null;
  return { siteId: Number(match[1]), recordType: match[2]!, recordId: match[3]! };
}

/** An open issue to explain: its key, its violation and, when the log kept it, the record it is about. */
export interface IssueToExplain {
  readonly key: string;
  readonly violation: RuleViolation;
  readonly subject?: SyncRecord | null;
}

/** A refused push: whose, which rule, and what would make the central keep it. */
export interface QuarantineExplanation {
  readonly siteId: SiteId;
  /** null when the site no longer exists */
  readonly siteName: string | null;
  readonly recordType: string;
  readonly recordId: string;
  /** the rule id: the edit-table rule for an edit refusal, else the refusal code */
  readonly rule: string;
  readonly code: string;
  readonly ruleText: string;
  readonly message: string;
  readonly fix: string;
  /** the site the refusal names as the one that may make the change, if any */
  readonly editorSite: { readonly siteId: SiteId; readonly siteName: string | null } | null;
  /** the refused record's routing columns explained for every site, when the issue kept the record */
  readonly subject: RecordExplanation | null;
  /** the central's push check run again now on the kept record (null: not kept, or the site is gone) */
  readonly now: { readonly refused: false } | { readonly refused: true; readonly code: string; readonly message: string; readonly fix: string } | null;
  /** what would make the central keep it, in words */
  readonly needed: readonly string[];
}

export interface IssueExplanation {
  readonly key: string;
  /** the key's first part: quarantine, transfer-conflict, ... */
  readonly kind: string;
  readonly violation: RuleViolation;
  /** for a refused push (a quarantine key), null for any other issue */
  readonly quarantine: QuarantineExplanation | null;
}

/**
 * Explains an open issue. A quarantine (a record the central refused from a site) gets its site,
 * rule, message and fix; when the issue kept the refused record, its routing columns are explained
 * for every site (`explainRecord`) and the push check (`pushRefusal`, with `pushContext` of what
 * the central holds now) is run again, so the answer says whether it is still refused and what is
 * needed. Any other issue: its violation.
 */
export function explainIssue(
  topology: Topology,
  issue: IssueToExplain,
  context: { readonly routing?: RoutingContext; readonly push?: PushContext } = {},
): IssueExplanation {
  const { key, violation } = issue;
  const kind = key.split(':')[0] ?? key;
  const parsed = parseQuarantineKey(key);
  if (!parsed) return { key, kind, violation, quarantine: null };
  const fields = violation as RuleViolation & { editRule?: unknown; editorSiteId?: unknown; recordType?: unknown; recordId?: unknown };
  const subject = issue.subject ?? null;
  const site = topology.site(parsed.siteId);
  const nameOf = (id: SiteId) => topology.site(id)?.name ?? null;
  const editorId = typeof fields.editorSiteId === 'number' ? fields.editorSiteId : null;
  const explained = subject ? explainRecord(topology, subject, context.routing) : null;
  const refusal = subject && site ? pushRefusal(topology, site.id, subject, context.push) : null;
  const now =
    !subject || !site
      ? null
      : refusal
        ? { refused: true as const, code: refusal.code, message: refusal.message, fix: refusal.fix }
        : { refused: false as const };
  return {
    key,
    kind,
    violation,
    quarantine: {
      siteId: parsed.siteId,
      siteName: site?.name ?? null,
      recordType: subject?.type ?? (typeof fields.recordType === 'string' ? fields.recordType : parsed.recordType),
      recordId: subject?.id ?? (typeof fields.recordId === 'string' ? fields.recordId : parsed.recordId),
      rule: typeof fields.editRule === 'string' ? fields.editRule : violation.code,
      code: violation.code,
      ruleText: violation.rule,
      message: violation.message,
      fix: violation.fix,
      editorSite: editorId === null ? null : { siteId: editorId, siteName: nameOf(editorId) },
      subject: explained,
      now,
      needed: needed(topology, parsed.siteId, violation, explained, now),
    },
  };
}

function needed(
  topology: Topology,
  siteId: SiteId,
  violation: RuleViolation,
  explained: RecordExplanation | null,
  now: QuarantineExplanation['now'],
): string[] {
  const site = topology.site(siteId);
  if (!site) return [`Site ${siteId} no longer exists: nothing it sent can be kept. Close the issue once its records are dealt with.`];
  if (!explained || !now) return [violation.fix];
  const what = `${explained.record.type} ${explained.record.id}`;
  if (!now.refused) {
    return [`The central would keep ${what} from ${describeSite(site)} now (the configuration changed since): it is kept the next time the site pushes it.`];
  }
  const lines = [now.fix];
  const editors = explained.sites.filter((s) => s.mayEdit);
  const self = explained.sites.find((s) => s.siteId === siteId);
  if (self && !self.mayEdit) {
    lines.push(
      editors.length > 0
        ? `Only ${editors.map((s) => describeSite(topology.site(s.siteId)!)).join(', ')} may send ${what} (${editors[0]!.editRule}).`
        : `No site may send ${what} under the current configuration (${self.editRule}).`,
    );
  }
  const central = explained.sites.find((s) => s.siteId === topology.central.id);
  if (central && !central.receives) lines.push(`The central does not keep ${what} (${central.rule}): ${central.reason}`);
  for (const problem of explained.problems) lines.push(`${problem.message} Fix: ${problem.fix}`);
  return [...new Set(lines)];
}
