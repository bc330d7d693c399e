/** The admin page's style sheet. Stale is red, and also said in words (a badge), not by colour alone. */
export const ADMIN_PAGE_CSS = `
:root {
  --identity: #4a148c;
  --identity-edge: #ffb300;
  --stale: #b00020;
  --stale-bg: #fdecee;
  --ok: #1b5e20;
  --muted: #5f6368;
  --line: #d7dbe0;
  font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
  font-size: 15px;
  color: #1f2328;
  background: #f6f7f9;
}
body { margin: 0; }
main { padding: 1rem 1.5rem 3rem; max-width: 1400px; margin: 0 auto; }
h1 { font-size: 1.4rem; margin-top: 0; }
h2 { font-size: 1.2rem; margin: 0 0 0.6rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.9em; }
button {
  font: inherit; padding: 0.3rem 0.8rem; border: 1px solid #8a94a0; border-radius: 4px;
  background: #fff; cursor: pointer;
}
button:hover { background: #eef1f4; }
button:disabled { opacity: 0.6; cursor: wait; }
button.primary { background: var(--identity); border-color: var(--identity); color: #fff; }

.identity-bar {
  display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: center; justify-content: space-between;
  padding: 0.7rem 1.5rem; background: var(--identity); color: #fff;
  border-bottom: 5px solid var(--identity-edge);
}
.identity { display: flex; align-items: baseline; gap: 0.6rem; font-size: 1.1rem; }
.identity-mark { color: var(--identity-edge); }
.identity-host { font-size: 0.85rem; opacity: 0.85; }
.session { display: flex; align-items: center; gap: 0.6rem; }
.session button { background: transparent; color: #fff; border-color: rgba(255, 255, 255, 0.6); }
.session button:hover { background: rgba(255, 255, 255, 0.15); }
.whoami { font-size: 0.9rem; }
.role-badge { display: inline-block; padding: 0.05rem 0.5rem; border-radius: 999px; background: var(--identity-edge); color: #1f2328; font-weight: 600; }

.message { margin: 0 0 1rem; padding: 0.7rem 1rem; border-radius: 4px; border: 1px solid; white-space: pre-wrap; }
.message.error { background: var(--stale-bg); border-color: var(--stale); color: #7f0016; }
.message.success { background: #e8f5e9; border-color: var(--ok); color: var(--ok); }
.message.info { background: #e8f0fe; border-color: #1a56db; color: #123a8f; }

.login { max-width: 32rem; margin: 2rem auto; padding: 1.5rem; background: #fff; border: 1px solid var(--line); border-radius: 6px; }
.login label { display: block; font-weight: 600; margin: 1rem 0 0.3rem; }
.login input { width: 100%; box-sizing: border-box; padding: 0.45rem; font: inherit; margin-bottom: 0.8rem; }
.hint { color: var(--muted); font-size: 0.85rem; }

.sections { display: flex; gap: 1rem; margin-bottom: 1rem; }
.sections a { color: var(--identity); font-weight: 600; text-decoration: none; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 1rem 1.2rem; margin-bottom: 1.2rem; }
.legend { margin: 0 0 0.6rem; color: var(--muted); font-size: 0.9rem; }
.legend-stale { color: var(--stale); font-weight: 600; }
.empty { color: var(--muted); font-style: italic; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
th, td { text-align: left; vertical-align: top; padding: 0.4rem 0.6rem; border-bottom: 1px solid var(--line); }
th { background: #eef1f4; font-weight: 600; white-space: nowrap; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
td .sub { display: block; color: var(--muted); font-size: 0.85em; }
tr.stale td { color: var(--stale); background: var(--stale-bg); }
tr.stale td .sub { color: var(--stale); }
tr.blocked td:first-child { box-shadow: inset 4px 0 0 #37474f; }
.badge { display: inline-block; margin: 0 0.25rem 0.15rem 0; padding: 0.05rem 0.45rem; border-radius: 999px; font-size: 0.8rem; font-weight: 600; background: #e0e4e8; color: #1f2328; }
.badge.stale { background: var(--stale); color: #fff; }
.badge.blocked { background: #37474f; color: #fff; }
.badge.central { background: var(--identity); color: #fff; }
.badge.ok { background: #e8f5e9; color: var(--ok); }
.badge.acknowledged { background: #e8f0fe; color: #123a8f; }
.actions { white-space: nowrap; }
.actions button { margin: 0 0.3rem 0.3rem 0; }
.copies { margin: 0; padding-left: 1rem; }
.filter { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; margin-bottom: 0.8rem; }
.filter input { min-width: 16rem; padding: 0.3rem; font: inherit; }
.filter select { padding: 0.3rem; font: inherit; }
#issues-body td:first-child { min-width: 15rem; }
.issue-key { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.85em; word-break: break-all; }
.report-summary { display: grid; grid-template-columns: max-content 1fr; gap: 0.3rem 1rem; margin: 0 0 0.8rem; }
.report-summary dt { font-weight: 600; }
.report-summary dd { margin: 0; }
.stale-text { color: var(--stale); font-weight: 600; }
#issues-more { margin-top: 0.6rem; }
.badge.no { background: #eceff1; color: #37474f; }
tr.explain-row > td { background: #f8f9fb; border-left: 4px solid var(--identity); }
.explain h3 { font-size: 1rem; margin: 0.8rem 0 0.4rem; }
.explain-facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.3rem 1rem; margin: 0; }
.explain-facts dt { font-weight: 600; }
.explain-facts dd { margin: 0; }
.explain-facts ul { margin: 0; padding-left: 1.1rem; }
.rule-id { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.85em; background: #eef1f4; padding: 0 0.25rem; border-radius: 3px; }
.explain-decisions table { background: #fff; }
.explain-decisions .rule-id { white-space: nowrap; }
`;
