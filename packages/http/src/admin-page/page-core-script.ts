/**
 * The admin page's browser code, part 1: talking to the admin API, the session (the token in
 * sessionStorage), the message area, and DOM helpers. Plain ES2020 served as is (no build step).
 * Rule of this code: a value from the API is only ever put in the page with textContent or as an
 * attribute value (see `el`), never as markup.
 * (Kept free of backquotes and dollar-brace: it is a template literal here.)
 */
export const ADMIN_PAGE_CORE_SCRIPT = String.raw`
const TOKEN_KEY = 'sitesync.adminToken';
const state = { role: null, tokenId: null, sites: [], stores: [], report: null, issues: [], issuesNext: null };

function byId(id) {
  return document.getElementById(id);
}

/** An element with properties and children: strings and numbers become text nodes. */
function el(tag, props, children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'className') node.className = value;
    else if (name === 'text') node.textContent = String(value);
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children || []) {
    if (child === undefined || child === null || child === false) continue;
    node.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
  return node;
}

function badge(kind, text) {
  return el('span', { className: 'badge ' + kind, text: text });
}

/** A table with a header row and the given rows; an empty message when there are none. */
function table(headers, rows, emptyText) {
  if (rows.length === 0) return el('p', { className: 'empty', text: emptyText });
  return el('table', {}, [
    el('thead', {}, [el('tr', {}, headers.map((h) => el('th', { scope: 'col', text: h })))]),
    el('tbody', {}, rows),
  ]);
}

function replaceContent(id, node) {
  byId(id).replaceChildren(node);
}

/** An ISO time as "2026-01-31 09:30 UTC", "never" for null, a dash when the central does not say. */
function when(iso) {
  if (iso === undefined) return el('span', { className: 'sub', text: '\u2014' });
  if (iso === null) return el('span', { text: 'never' });
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return el('span', { text: String(iso) });
  return el('time', { datetime: date.toISOString(), text: date.toISOString().slice(0, 16).replace('T', ' ') + ' UTC' });
}

function isAdmin() {
  return state.role === 'admin';
}

class ApiError extends Error {
  constructor(status, code, message, data) {
    super(message);
    this.status = status;
    this.code = code;
    this.data = data;
  }
}

/** Calls the admin API (relative to this page: /admin/v1/...) with the session's bearer token. */
async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.authorization = 'Bearer ' + token;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch('v1/' + path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (error) {
    throw new ApiError(0, 'network', 'The central did not answer (' + error.message + '). Check that it is running and reachable, then press Refresh.');
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch (error) {
    json = null;
  }
  if (!response.ok) {
    const answer = json && json.error ? json.error : {};
    throw new ApiError(
      response.status,
      answer.code || 'http_' + response.status,
      answer.message || 'The central answered ' + method + ' /admin/v1/' + path + ' with HTTP ' + response.status + '.',
      answer.data,
    );
  }
  return json;
}

function showMessage(kind, text) {
  const box = byId('message');
  box.className = 'message ' + kind;
  box.textContent = text;
  box.hidden = false;
}

function clearMessage() {
  const box = byId('message');
  box.hidden = true;
  box.textContent = '';
}

/** An API error in the message area, with the API's own message; a refused token ends the session. */
function showError(error) {
  if (!(error instanceof ApiError)) {
    showMessage('error', 'Unexpected error in the page: ' + (error && error.message ? error.message : String(error)));
    return;
  }
  if (error.status === 401) endSession();
  showMessage('error', error.message + ' (' + error.code + ')');
}

/** Runs an action of a button: disabled meanwhile, errors shown. */
async function act(button, action) {
  button.disabled = true;
  try {
    await action();
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

function showIdentity(centralName) {
  const title = centralName ? 'mSupply central server \u2014 ' + centralName : 'mSupply central server';
  byId('central-name').textContent = title;
  byId('central-host').textContent = location.host;
  document.title = 'sitesync admin \u2014 ' + (centralName || location.host);
}

function endSession() {
  sessionStorage.removeItem(TOKEN_KEY);
  state.role = null;
  state.tokenId = null;
  byId('app').hidden = true;
  byId('session').hidden = true;
  byId('login').hidden = false;
  for (const id of ['sites-body', 'stores-body', 'issues-body', 'report-body']) byId(id).replaceChildren();
  byId('token').focus();
}

/** Checks the session's token (whoami), then shows and loads everything. */
async function startSession() {
  let me;
  try {
    me = await api('GET', 'whoami');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) endSession();
    showError(error);
    return;
  }
  state.role = me.role;
  state.tokenId = me.tokenId;
  const role = me.role === 'admin' ? 'admin' : 'view only';
  byId('whoami').replaceChildren(el('span', { className: 'role-badge', text: role }), ' token ' + me.tokenId);
  byId('login').hidden = true;
  byId('session').hidden = false;
  byId('app').hidden = false;
  await refreshAll();
}

async function login(event) {
  event.preventDefault();
  const input = byId('token');
  const token = input.value.trim();
  if (!token) {
    showMessage('error', 'Enter an admin token.');
    return;
  }
  clearMessage();
  sessionStorage.setItem(TOKEN_KEY, token);
  input.value = '';
  await startSession();
}

function logout() {
  endSession();
  showIdentity(null);
  showMessage('info', 'Logged out: the token was removed from this tab.');
}

/**
 * Loads every section; the first error is shown (every section still shows what it could load).
 * The issues come second: they name sites.
 */
async function refreshAll() {
  const sites = loadSitesAndStores();
  const issues = sites.catch(() => undefined).then(() => loadIssues(false));
  const results = await Promise.allSettled([sites, issues]);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) showError(failed.reason);
}

function start() {
  showIdentity(null);
  byId('login').addEventListener('submit', login);
  byId('logout').addEventListener('click', logout);
  byId('refresh').addEventListener('click', () => {
    clearMessage();
    refreshAll();
  });
  byId('issues-filter').addEventListener('submit', (event) => {
    event.preventDefault();
    loadIssues(false).catch(showError);
  });
  byId('issues-more').addEventListener('click', () => loadIssues(true).catch(showError));
  if (sessionStorage.getItem(TOKEN_KEY)) startSession();
  else byId('token').focus();
}
`;
