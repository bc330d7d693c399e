/**
 * The admin page's document: static markup only. Everything the central answers is put in by
 * admin.js with textContent, never as markup.
 */
export const ADMIN_PAGE_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="referrer" content="no-referrer" />
    <title>sitesync admin</title>
    <link rel="stylesheet" href="admin.css" />
    <script src="admin.js" defer></script>
  </head>
  <body>
    <header id="identity" class="identity-bar">
      <div class="identity">
        <span class="identity-mark" aria-hidden="true">&#9679;</span>
        <strong id="central-name">mSupply central server</strong>
        <span id="central-host" class="identity-host"></span>
      </div>
      <div id="session" class="session" hidden>
        <span id="whoami" class="whoami"></span>
        <button id="refresh" type="button">Refresh</button>
        <button id="logout" type="button">Log out</button>
      </div>
    </header>
    <main>
      <div id="message" class="message" role="alert" hidden></div>
      <form id="login" class="login" autocomplete="off">
        <h1>Sign in to the sitesync central</h1>
        <p>
          Enter an admin API token: the token the central was started with, or one issued with
          <code>POST /admin/v1/tokens</code>. A view-only token shows everything and changes nothing.
        </p>
        <label for="token">Admin token</label>
        <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required />
        <button id="login-button" type="submit">Log in</button>
        <p class="hint">The token is kept in this browser tab only (session storage) until you log out or close the tab.</p>
      </form>
      <div id="app" hidden>
        <nav class="sections">
          <a href="#sites">Sites</a>
          <a href="#stores">Stores</a>
          <a href="#issues">Issue log</a>
          <a href="#report">Sync report</a>
        </nav>
        <section id="sites" aria-labelledby="sites-title">
          <h2 id="sites-title">Sites</h2>
          <p class="legend">
            A site in <span class="legend-stale">red</span> is stale: it has not synced for longer than the central allows, or never.
          </p>
          <div id="sites-body" class="table-wrap"></div>
        </section>
        <section id="stores" aria-labelledby="stores-title">
          <h2 id="stores-title">Stores and their copies</h2>
          <div id="stores-body" class="table-wrap"></div>
        </section>
        <section id="issues" aria-labelledby="issues-title">
          <h2 id="issues-title">Issue log</h2>
          <form id="issues-filter" class="filter">
            <label for="issues-acknowledged">Show</label>
            <select id="issues-acknowledged" name="acknowledged">
              <option value="false" selected>Needing attention</option>
              <option value="true">Acknowledged</option>
              <option value="">All open issues</option>
            </select>
            <label for="issues-code">Rule code</label>
            <input id="issues-code" name="code" type="text" placeholder="e.g. edit.store-not-active-here" spellcheck="false" />
            <button type="submit">Filter</button>
          </form>
          <div id="issues-body" class="table-wrap"></div>
          <button id="issues-more" type="button" hidden>Show more</button>
        </section>
        <section id="report" aria-labelledby="report-title">
          <h2 id="report-title">Sync report</h2>
          <div id="report-body"></div>
        </section>
      </div>
    </main>
  </body>
</html>
`;
