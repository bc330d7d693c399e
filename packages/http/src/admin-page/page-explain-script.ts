/**
 * The admin page's browser code, part 3: **Explain** on an issue row (a read, so for both roles). It
 * calls `GET /admin/v1/issues/explain?key=` and shows, under the row, the rule id, the message and
 * the fix; for a refused push the site, who may send the record, whether the central would keep it
 * now and what is needed; and every site's decision about the record (receives it, may edit it) with
 * the rule id and the reason of each. For an issue about a record the central holds but that is not
 * a refused push (a transfer), the decisions come from `GET /admin/v1/records/:type/:id/explain`.
 * (Kept free of backquotes and dollar-brace: it is a template literal here.)
 */
export const ADMIN_PAGE_EXPLAIN_SCRIPT = String.raw`
function explainButton(issue) {
  return el(
    'button',
    {
      type: 'button',
      className: 'explain-button',
      'data-explain': issue.key,
      'aria-expanded': 'false',
      title: 'Why: the rule, the fix, and every site\u2019s decision about the record',
      onclick: (event) => {
        const button = event.currentTarget;
        act(button, () => toggleExplain(issue, button));
      },
    },
    ['Explain'],
  );
}

async function toggleExplain(issue, button) {
  const row = button.closest('tr');
  const next = row.nextElementSibling;
  if (next && next.classList.contains('explain-row')) {
    next.remove();
    button.textContent = 'Explain';
    button.setAttribute('aria-expanded', 'false');
    return;
  }
  const answer = await api('GET', 'issues/explain?key=' + encodeURIComponent(issue.key));
  let subject = answer.quarantine ? answer.quarantine.subject : null;
  if (!subject && !answer.quarantine && issue.record) {
    // not a refused push: the record's decisions, when the central holds it
    subject = await api('GET', 'records/' + encodeURIComponent(issue.record.type) + '/' + encodeURIComponent(issue.record.id) + '/explain').catch(() => null);
  }
  const panel = el('tr', { className: 'explain-row', 'data-explain-for': issue.key }, [
    el('td', { colspan: row.children.length }, [explanation(answer, subject)]),
  ]);
  row.after(panel);
  button.textContent = 'Hide explanation';
  button.setAttribute('aria-expanded', 'true');
}

function ruleId(id, code) {
  return el('span', {}, [el('code', { className: 'rule-id', text: id }), code && code !== id ? ' (' + code + ')' : null]);
}

function facts(pairs) {
  const items = [];
  for (const [term, value] of pairs) {
    items.push(el('dt', { text: term }));
    items.push(typeof value === 'object' ? el('dd', {}, [value]) : el('dd', { text: value }));
  }
  return el('dl', { className: 'explain-facts' }, items);
}

function siteNamed(siteId, siteName) {
  return siteName ? siteName + ' (#' + siteId + ')' : 'site #' + siteId + ' (no longer exists)';
}

function explanation(answer, subject) {
  const q = answer.quarantine;
  const pairs = [];
  if (q) {
    pairs.push(['Refused', q.recordType + ' ' + q.recordId + ' pushed by ' + siteNamed(q.siteId, q.siteName)]);
    pairs.push(['Rule', el('span', {}, [ruleId(q.rule, q.code), ': ' + q.ruleText])]);
    pairs.push(['Message', q.message]);
    pairs.push(['Fix', q.fix]);
    if (q.editorSite) pairs.push(['May send it', siteNamed(q.editorSite.siteId, q.editorSite.siteName)]);
    if (q.now) pairs.push(['Now', q.now.refused ? 'still refused (' + q.now.code + '): ' + q.now.message : 'the central would keep it: Retry stores it']);
    if (q.needed.length) pairs.push(['Needed', el('ul', {}, q.needed.map((n) => el('li', { text: n })))]);
  } else {
    const v = answer.violation;
    pairs.push(['Kind', answer.kind]);
    pairs.push(['Rule', el('span', {}, [ruleId(v.code, null), ': ' + v.rule])]);
    pairs.push(['Message', v.message]);
    pairs.push(['Fix', v.fix]);
  }
  const nodes = [facts(pairs)];
  if (subject) nodes.push(decisions(subject));
  return el('div', { className: 'explain' }, nodes);
}

/** Every site's decision about a record: receives it or not, may edit it or not, each with its rule id and reason. */
function decisions(subject) {
  const record = subject.record;
  const what = record.type + ' ' + record.id + (record.deleted ? ' (deleted)' : '') + (record.storeId ? ', store ' + record.storeId : '');
  const headers = ['Site', 'Receives it', 'Rule', 'Reason', 'May edit it', 'Rule', 'Reason'];
  const rows = subject.sites.map((s) =>
    el('tr', { 'data-decision-site': s.siteId }, [
      el('td', { text: s.siteName + ' (#' + s.siteId + ')' }),
      el('td', {}, [s.receives ? badge('ok', 'receives') : badge('no', 'does not')]),
      el('td', {}, [el('code', { className: 'rule-id', text: s.rule })]),
      el('td', { text: s.reason }),
      el('td', {}, [s.mayEdit ? badge('ok', 'may edit') : badge('no', 'may not')]),
      el('td', {}, [el('code', { className: 'rule-id', text: s.editRule })]),
      el('td', {}, [el('span', { text: s.editReason }), s.editFix ? el('span', { className: 'sub', text: 'Fix: ' + s.editFix }) : null]),
    ]),
  );
  const problems = subject.problems.map((p) => el('p', { className: 'message error', text: p.code + ': ' + p.message + ' Fix: ' + p.fix }));
  return el('div', { className: 'explain-decisions' }, [
    el('h3', { text: 'Every site\u2019s decision about ' + what }),
    table(headers, rows, 'No sites.'),
  ].concat(problems));
}
`;
