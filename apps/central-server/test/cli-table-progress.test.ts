import { SyncHttpError } from '@sitesync/http';
import { errorText } from '../src/cli-common';
import { startProgress } from '../src/cli-progress';
import { cell, keyValue, table, time } from '../src/cli-table';

/** The CLI's text output (tables, key-value blocks) and its progress lines, without a process. */
describe('cli-table', () => {
  it('pads every column but the last to its widest cell', () => {
    expect(
      table([
        ['ID', 'NAME', 'STATE'],
        ['1', 'central', '-'],
        ['12', 'North', 'STALE'],
      ]),
    ).toBe('ID  NAME     STATE\n1   central  -\n12  North    STALE');
  });

  it('aligns the values of a key-value block', () => {
    expect(
      keyValue([
        ['site', '2 North'],
        ['feed cursor', '17'],
      ]),
    ).toBe('site:         2 North\nfeed cursor:  17');
  });

  it('shows nothing as -, yes/no, times in UTC to the second, lists joined, text on one line', () => {
    expect([cell(null), cell(undefined), cell(''), cell(true), cell(false), cell(['a', 'b']), cell([]), cell('two\n  lines')]).toEqual([
      '-',
      '-',
      '-',
      'yes',
      'no',
      'a, b',
      '-',
      'two lines',
    ]);
    expect(time(new Date('2026-12-03T02:35:57.123Z'))).toBe('2026-12-03 02:35:57Z');
    expect(time('2026-12-03T02:35:57+01:00')).toBe('2026-12-03 01:35:57Z');
    expect(time(null)).toBe('never');
  });
});

describe('progress', () => {
  const stream = (isTTY: boolean) => {
    const written: string[] = [];
    return { written, stream: { isTTY, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream };
  };

  it('off when stderr is not a terminal, unless --progress', () => {
    const quiet = stream(false);
    let now = 0;
    const off = startProgress({}, quiet.stream, () => now);
    now = 10_000;
    off.update('a');
    off.done('b');
    expect(quiet.written).toEqual([]);
    const noProgress = stream(true);
    startProgress({ progress: false }, noProgress.stream, () => now).done('b');
    expect(noProgress.written).toEqual([]);
  });

  it('with --progress and no terminal: a line at most every 2 s, and always the last', () => {
    const log = stream(false);
    let now = 0;
    const progress = startProgress({ progress: true }, log.stream, () => now);
    progress.update('1 record');
    now = 2000;
    progress.update('2 records');
    now = 2500;
    progress.update('3 records');
    progress.done('3 records, checked');
    expect(log.written).toEqual(['2 records\n', '3 records, checked\n']);
  });

  it('on a terminal: one line rewritten in place, at most 4 times a second, ended by the last', () => {
    const tty = stream(true);
    let now = 0;
    const progress = startProgress({}, tty.stream, () => now);
    now = 250;
    progress.update('1 record');
    now = 300;
    progress.update('2 records');
    progress.done('2 records, checked');
    expect(tty.written).toEqual(['\r\x1b[K1 record', '\r\x1b[K2 records, checked\n']);
  });
});

describe('errorText', () => {
  it('prints the message, then each broken rule of a refused topology change', () => {
    const refused = SyncHttpError.of('topology_rule_violated', 'The change breaks the topology rules: ... Fix: ...', [
      { code: 'topology.mobile-site-several-stores', rule: 'a mobile site holds at most one store', message: 'm', fix: 'f' },
    ]);
    expect(errorText(refused)).toBe(
      'The change breaks the topology rules: ... Fix: ...\nrule: topology.mobile-site-several-stores (a mobile site holds at most one store)\n',
    );
    expect(errorText(new Error('no admin token'))).toBe('no admin token\n');
  });
});
