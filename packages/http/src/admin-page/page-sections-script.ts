/**
 * The admin page's browser code, part 2: the sections (sites, stores and their copies, the issue
 * log with its actions (Explain in page-explain-script.ts), the sync report). Edit controls are built only for the admin role; the API
 * refuses a view-only token's changes anyway (403 forbidden).
 * (Kept free of backquotes and dollar-brace: it is a template literal here.)
 */
export const ADMIN_PAGE_SECTIONS_SCRIPT = String.raw`
function siteLabel(siteId) {
  const site = state.sites.find((s) => s.id === siteId);
  return site ? site.name + ' (#' + siteId + ')' : 'site #' + siteId;
}

function isCentral(site) {
  return Array.isArray(site.roles) && site.roles.includes('central');
}

function rowClass(item) {
  return [item.stale ? 'stale' : '', item.blocked ? 'blocked' : ''].filter(Boolean).join(' ') || null;
}

function actionButton(action, label, title, run) {
  return el('button', { type: 'button', 'data-action': action, title: title, onclick: (event) => act(event.currentTarget, run) }, [label]);
}

/** Sites, stores and the report: one refresh, as the stores section reads all three. Throws the sites' or stores' error. */
async function loadSitesAndStores() {
  const [sites, stores, report] = await Promise.allSettled([api('GET', 'sites'), api('GET', 'stores'), api('GET', 'report')]);
  if (sites.status === 'fulfilled') state.sites = sites.value.sites;
  if (stores.status === 'fulfilled') state.stores = stores.value.stores;
  state.report = report.status === 'fulfilled' ? report.value : null;
  const central = state.sites.find(isCentral);
  showIdentity(central ? central.name : null);
  renderSites();
  renderStores();
  renderReport(report.status === 'rejected' ? report.reason : null);
  // the report's own error is shown in its section: it must not hide the outcome of an action
  const failed = [sites, stores].find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

function siteState(site) {
  const badges = [];
  if (isCentral(site)) badges.push(badge('central', 'this central'));
  if (site.stale) badges.push(badge('stale', site.lastSyncedAt ? 'stale' : 'stale: never synced'));
  if (site.blocked) badges.push(badge('blocked', 'blocked'));
  else if (site.failedLoginCount > 0) badges.push(badge('warn', site.failedLoginCount + ' failed logins'));
  if (badges.length === 0) badges.push(badge('ok', 'ok'));
  return badges;
}

function renderSites() {
  const admin = isAdmin();
  const headers = ['Site', 'Id', 'Roles', 'Device and app', 'Last connected', 'Last synced', 'Waiting', 'State'];
  if (admin) headers.push('Actions');
  const rows = state.sites.map((site) => {
    const central = isCentral(site);
    const app = site.appName ? site.appName + ' ' + (site.appVersion || '') : 'no app reported yet';
    const cells = [
      el('td', {}, [el('span', { className: 'site-name', text: site.name }), el('span', { className: 'sub', text: 'code ' + site.code })]),
      el('td', { className: 'number', text: site.id }),
      el('td', {}, [
        el('span', { text: site.roles.length ? site.roles.filter((r) => r !== 'oms-central').join(', ') || 'remote' : 'remote' }),
        // seed 000: the Open mSupply central server, with the URL remotes are told
        ...(site.roles.includes('oms-central')
          ? [el('span', { className: 'sub oms-central', text: 'Open mSupply central server' + (site.omsCentralUrl ? ' at ' + site.omsCentralUrl : '') })]
          : []),
      ]),
      el('td', {}, [el('span', { text: site.deviceType }), el('span', { className: 'sub', text: app })]),
      el('td', {}, [central ? el('span', { className: 'sub', text: 'this server' }) : when(site.lastConnectedAt)]),
      el('td', {}, [central ? el('span', { className: 'sub', text: 'this server' }) : when(site.lastSyncedAt)]),
      el('td', { className: 'number', text: site.waiting === null || site.waiting === undefined ? '\u2014' : site.waiting }),
      el('td', {}, siteState(site)),
    ];
    if (admin) {
      const unblockButton = site.blocked
        ? actionButton('unblock', 'Unblock', 'Let this site log in again (resets its failed logins)', () => unblock(site))
        : null;
      cells.push(el('td', { className: 'actions' }, [unblockButton]));
    }
    return el('tr', { className: rowClass(site), 'data-site-id': site.id }, cells);
  });
  replaceContent('sites-body', table(headers, rows, 'No sites: the central has no topology yet.'));
}

async function unblock(site) {
  await api('POST', 'sites/' + encodeURIComponent(site.id) + '/unblock');
  showMessage('success', 'Site ' + site.name + ' is unblocked: its failed logins are reset and it can log in again.');
  await loadSitesAndStores();
}

function renderStores() {
  const rows = state.stores.map((store) => {
    const reported = state.report && Array.isArray(state.report.stores) ? state.report.stores.find((r) => r.storeId === store.id) : undefined;
    const active = state.sites.find((s) => s.id === store.activeSiteId);
    const onCentral = Boolean(active && isCentral(active));
    const stale = reported ? reported.stale : Boolean(active && active.stale);
    const copies = store.copies.length
      ? el('ul', { className: 'copies' }, store.copies.map((c) => el('li', {}, [siteLabel(c.siteId) + ': ' + c.type])))
      : el('span', { className: 'sub', text: 'none: only on its active site' });
    const settings = [
      store.isDispensary ? 'dispensary' : null,
      store.isDispensary ? (store.includeTransactionsInSync ? 'transactions in sync' : 'transactions not in sync') : null,
      store.centralisedProcurement ? 'centralised procurement' : null,
    ].filter(Boolean);
    const lastSynced = onCentral
      ? el('span', { className: 'sub', text: 'this server' })
      : when(reported ? reported.lastSyncedAt : active ? active.lastSyncedAt : undefined);
    const cells = [
      el('td', {}, [el('span', { text: store.name }), el('span', { className: 'sub', text: 'code ' + store.code })]),
      el('td', { text: store.id }),
      el('td', { text: siteLabel(store.activeSiteId) }),
      el('td', {}, [copies]),
      el('td', { text: settings.length ? settings.join(', ') : '\u2014' }),
      el('td', {}, [lastSynced]),
      el('td', {}, [stale ? badge('stale', 'stale') : badge('ok', 'ok')]),
    ];
    return el('tr', { className: stale ? 'stale' : null, 'data-store-id': store.id }, cells);
  });
  const headers = ['Store', 'Id', 'Active on', 'Copies on other sites', 'Settings', 'Last synced', 'State'];
  replaceContent('stores-body', table(headers, rows, 'No stores.'));
}

function violationText(violation) {
  return violation ? violation.message + ' Fix: ' + violation.fix : '';
}

async function loadIssues(more) {
  const params = new URLSearchParams();
  const acknowledged = byId('issues-acknowledged').value;
  if (acknowledged) params.set('acknowledged', acknowledged);
  const code = byId('issues-code').value.trim();
  if (code) params.set('code', code);
  params.set('limit', '100');
  if (more && state.issuesNext) params.set('after', state.issuesNext);
  const page = await api('GET', 'issues?' + params.toString());
  state.issues = more ? state.issues.concat(page.issues) : page.issues;
  state.issuesNext = page.next;
  renderIssues();
}

function issueSubject(issue) {
  if (!issue.record) return null;
  const record = issue.record;
  let text = record.type + ' ' + record.id + (record.deleted ? ' (deleted)' : '');
  if (record.storeId) text += ', store ' + record.storeId;
  if (issue.siteId !== null && issue.siteId !== undefined) text += ', pushed by ' + siteLabel(issue.siteId);
  return el('span', { className: 'sub', text: text });
}

function renderIssues() {
  const admin = isAdmin();
  const headers = ['Issue', 'Problem', 'Fix', 'First seen', 'Last seen', 'Times', 'Acknowledged', 'Actions'];
  const rows = state.issues.map((issue) => {
    const violation = issue.violation || {};
    const acknowledged = issue.acknowledgedAt
      ? [badge('acknowledged', 'acknowledged'), el('span', { className: 'sub' }, [when(issue.acknowledgedAt), issue.acknowledgedBy ? ' by ' + issue.acknowledgedBy : ''])]
      : [issue.acknowledgedAt === null ? 'no' : '\u2014'];
    const cells = [
      el('td', {}, [el('span', { className: 'issue-key', text: issue.key }), issueSubject(issue)]),
      el('td', {}, [el('span', { text: violation.message }), el('span', { className: 'sub', text: violation.code })]),
      el('td', { text: violation.fix }),
      el('td', {}, [when(issue.firstSeenAt)]),
      el('td', {}, [when(issue.lastSeenAt)]),
      el('td', { className: 'number', text: issue.occurrences }),
      el('td', {}, acknowledged),
    ];
    // Explain is a read (both roles); Retry and Acknowledge are changes (admin only)
    cells.push(
      el('td', { className: 'actions' }, [
        explainButton(issue),
        admin && issue.retryable === true ? actionButton('retry', 'Retry', 'Check it again against the current topology', () => retry(issue)) : null,
        admin && issue.acknowledgedAt === null
          ? actionButton('acknowledge', 'Acknowledge', 'Mark it as seen: it leaves "Needing attention"', () => acknowledge(issue))
          : null,
      ]),
    );
    return el('tr', { 'data-issue-key': issue.key }, cells);
  });
  replaceContent('issues-body', table(headers, rows, 'No open issues match.'));
  byId('issues-more').hidden = !state.issuesNext;
}

async function retry(issue) {
  const result = await api('POST', 'issues/retry', { key: issue.key });
  if (result.outcome === 'resolved') {
    showMessage('success', 'Retried ' + issue.key + ': resolved. The record passed the checks and is stored; the issue is closed.');
  } else if (result.outcome === 'still-refused') {
    showMessage('error', 'Retried ' + issue.key + ': still refused. ' + violationText(result.violation));
  } else if (result.outcome === 'not-retryable') {
    showMessage('info', issue.key + ' cannot be retried. ' + violationText(result.violation));
  } else {
    showMessage('info', 'Retried ' + issue.key + ': ' + result.outcome + '. ' + violationText(result.violation));
  }
  await Promise.all([loadIssues(false), loadSitesAndStores()]);
}

async function acknowledge(issue) {
  await api('POST', 'issues/acknowledge', { key: issue.key });
  showMessage('success', issue.key + ' acknowledged. It stays open until its cause goes away; choose "Acknowledged" to list it.');
  await loadIssues(false);
}

function names(items, label) {
  if (items.length === 0) return ['none'];
  return [el('span', { className: 'stale-text', text: items.map(label).join(', ') })];
}

function renderReport(error) {
  const report = state.report;
  if (!report) {
    const text = error ? 'The report could not be loaded: ' + error.message + (error.code ? ' (' + error.code + ')' : '') : 'No report yet.';
    replaceContent('report-body', el('p', { className: error ? 'message error' : 'empty', role: error ? 'alert' : null, text: text }));
    return;
  }
  const staleSites = report.sites.filter((s) => s.stale);
  const staleStores = report.stores.filter((s) => s.stale);
  const waiting = report.sites.reduce((n, s) => n + (s.waiting || 0), 0);
  const summary = el('dl', { className: 'report-summary' }, [
    el('dt', { text: 'Generated' }),
    el('dd', {}, [when(report.generatedAt), ' by the central\u2019s clock']),
    el('dt', { text: 'Stale after' }),
    el('dd', { text: report.staleAfterDays + ' days without a completed sync' }),
    el('dt', { text: 'Sites' }),
    el('dd', { text: report.sites.length + ' sites, ' + staleSites.length + ' stale, ' + waiting + ' records waiting to be pulled' }),
    el('dt', { text: 'Stale sites' }),
    el('dd', {}, names(staleSites, (s) => s.name)),
    el('dt', { text: 'Stores' }),
    el('dd', { text: report.stores.length + ' stores, ' + staleStores.length + ' stale' }),
    el('dt', { text: 'Stale stores' }),
    el('dd', {}, names(staleStores, (s) => s.name + ' (on ' + s.siteName + ')')),
  ]);
  const download = el('button', { type: 'button', id: 'report-download', onclick: () => downloadReport(report) }, ['Download the report (JSON)']);
  replaceContent('report-body', el('div', {}, [summary, download]));
}

function downloadReport(report) {
  const blob = new Blob([JSON.stringify(report, null, 2)], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const link = el('a', { href: url, download: 'sitesync-report-' + String(report.generatedAt).replace(/[^0-9A-Za-z-]/g, '-') + '.json' });
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
`;
