import type { ExplainIssueResponse, ExplainRecordResponse } from '@sitesync/http';
import { InvalidArgumentError, type Command } from 'commander';
import { admin, client, print, type AdminOptions } from './cli-common';
import { table } from './cli-table';

interface ExplainOptions extends AdminOptions {
  readonly type?: string;
  readonly id?: string;
  readonly issue?: string;
}

/**
 * `sitesync-central explain --type T --id ID`: for a record the central holds, every site's decision
 * (receives it, may edit it) with the rule; `--issue KEY`: an open issue, for a refused push its rule
 * and fix. A table by default, the API's JSON with `--json`.
 */
export function registerExplainCommand(program: Command): void {
  admin(
    program
      .command('explain')
      .description("why each site receives a record or not and may edit it or not (the rule of each), or why the central refused a site's record"),
  )
    .option('--type <type>', 'record type, e.g. transaction')
    .option('--id <id>', 'record id')
    .option('--issue <key>', 'explain an open issue instead, e.g. quarantine:2:stock_line:sl-1 (see `issues`)')
    .action(async (o: ExplainOptions) => {
      if (o.issue !== undefined) {
        if (o.type !== undefined || o.id !== undefined) throw new InvalidArgumentError('explain: give either --issue, or --type and --id, not both');
        const answer = await client(o).explainIssue(o.issue);
        print(o, answer, issueText);
        return;
      }
      if (o.type === undefined || o.id === undefined) {
        throw new InvalidArgumentError('explain: give --type and --id of a record the central holds (or --issue KEY for an open issue)');
      }
      const answer = await client(o).explain(o.type, o.id);
      print(o, answer, recordText);
    });
}

const yesNo = (value: boolean) => (value ? 'yes' : 'no');

/** A record's decisions, one line per site. */
export function recordText(answer: ExplainRecordResponse): string {
  const { record } = answer;
  const columns = (['storeId', 'otherPartyStoreId', 'patientId', 'homeStoreId'] as const)
    .filter((c) => record[c] !== null)
    .map((c) => `${c} ${String(record[c])}`);
  const what = record.label ? `${record.label}, ${record.category ?? ''} data` : 'not in the catalogue';
  const lines = [
    `${record.type} ${record.id}${record.deleted ? ' (deleted)' : ''}: ${what}${columns.length > 0 ? `; ${columns.join(', ')}` : ''}`,
    table([
      ['SITE', 'RECEIVES', 'RULE', 'MAY EDIT', 'RULE'],
      ...answer.sites.map((s) => [`${s.siteId} ${s.siteName}`, yesNo(s.receives), s.rule, yesNo(s.mayEdit), s.editRule]),
    ]),
  ];
  for (const p of answer.problems) lines.push(`problem ${p.code}: ${p.message} Fix: ${p.fix}`);
  lines.push('(--json for the reason of each decision)');
  return `${lines.join('\n')}\n`;
}

/** An issue: its rule, message and fix; for a refused push, its site and what is needed. */
export function issueText(answer: ExplainIssueResponse): string {
  const q = answer.quarantine;
  const seen = `seen ${answer.occurrences} time${answer.occurrences === 1 ? '' : 's'}, last ${answer.lastSeenAt.toISOString()}`;
  if (!q) {
    const v = answer.violation;
    return `${answer.key} (${answer.kind}, ${seen})\nrule: ${v.code}: ${v.rule}\nmessage: ${v.message}\nfix: ${v.fix}\n`;
  }
  const lines = [
    `${answer.key} (${seen})`,
    `refused from site ${q.siteId} ${q.siteName ?? '(no longer exists)'}: ${q.recordType} ${q.recordId}`,
    `rule: ${q.rule}${q.rule === q.code ? '' : ` (${q.code})`}: ${q.ruleText}`,
    `message: ${q.message}`,
    `fix: ${q.fix}`,
  ];
  if (q.editorSite) lines.push(`may send it: site ${q.editorSite.siteId} ${q.editorSite.siteName ?? '(no longer exists)'}`);
  if (q.now) lines.push(q.now.refused ? `now: still refused (${q.now.code})` : 'now: the central would keep it');
  lines.push('needed:', ...q.needed.map((n) => `  - ${n}`));
  if (q.subject) lines.push('', recordText(q.subject).trimEnd());
  return `${lines.join('\n')}\n`;
}
