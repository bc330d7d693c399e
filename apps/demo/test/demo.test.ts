import { renderDemo } from '../src/demo';

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
