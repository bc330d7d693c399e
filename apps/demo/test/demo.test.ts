import { renderDemo } from '../src/demo';
import { runLiveDemo } from '../src/live-demo';

describe('npm run demo', () => {
  const text = renderDemo();

  it('names the primary as the only editor of central data and sends it everywhere', () => {
    expect(text).toContain('may edit on site 1 "Sync server", central + primary: Items is central data');
    expect(text).toContain('-> goes to site 2 "Remote site 1" [central-to-all]');
    expect(text).toContain('-> goes to site 3 "Remote site 2" [central-to-all]');
  });

  it('keeps store E on the sync server and store F on remote site 1', () => {
    const section = (title: string) => text.slice(text.indexOf(title), text.indexOf('\n\n', text.indexOf(title)));
    expect(section('Store data of store E')).not.toContain('-> goes to');
    expect(section('Store data of store F')).not.toContain('-> goes to');
    expect(section('Store data of store D')).toContain('-> goes to site 1 "Sync server", central + primary [store-to-collector]');
  });

  it('shows a completed transfer and a refused one with its fix', () => {
    expect(text).toContain('creates transaction ci-100.si in store C');
    expect(text).toContain('Fix: On the central, give store F "Store F" a transfer copy on site 3 "Remote site 2"');
  });
});

describe('npm run demo (live: a central and two remote sites over HTTP)', () => {
  it('syncs and shows each site holding what the rules route to it, and nothing else', async () => {
    const lines: string[] = [];
    await runLiveDemo((l: string) => lines.push(l));
    const text = lines.join('\n');
    // the holdings of one site: from its heading to the next site's heading
    const section = (site: string) => {
      const start = text.indexOf(`\n  ${site}`);
      const end = text.indexOf('\n  site ', start + 1);
      return text.slice(start, end === -1 ? undefined : end);
    };
    expect(section('site 1 "Sync server"')).toContain('stock_line stock-D-1 (store D): [store-to-collector]');
    expect(section('site 1 "Sync server"')).not.toContain('stock-F-1');
    expect(section('site 2 "Remote site 1"')).toContain('item item-bcg: [central-to-all]');
    expect(section('site 2 "Remote site 1"')).not.toContain('stock-D-1');
    expect(section('site 3 "Remote site 2"')).not.toContain('log-R1-1');
    expect(text).toContain('refused (edit.store-not-active-here)');
  }, 60_000);
});
