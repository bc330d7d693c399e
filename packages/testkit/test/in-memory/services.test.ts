import { ManualClock, PlainTestPasswordHasher, SequentialIdGenerator } from '../../src/in-memory/index';

describe('ManualClock', () => {
  it('starts at 2026-01-01 by default and moves only when told', () => {
    const clock = new ManualClock();
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:00.000Z');
    clock.advance(90_000);
    expect(clock.now().toISOString()).toBe('2026-01-01T00:01:30.000Z');
    clock.set(new Date('2027-06-01T12:00:00.000Z'));
    expect(clock.now().toISOString()).toBe('2027-06-01T12:00:00.000Z');
  });

  it('hands out dates the caller may change without moving the clock', () => {
    const start = new Date('2026-03-01T00:00:00.000Z');
    const clock = new ManualClock(start);
    start.setUTCFullYear(2030);
    clock.now().setUTCFullYear(2031);
    expect(clock.now().toISOString()).toBe('2026-03-01T00:00:00.000Z');
  });
});

describe('SequentialIdGenerator', () => {
  it('numbers ids from 1 behind a prefix', () => {
    const ids = new SequentialIdGenerator();
    const tx = new SequentialIdGenerator('tx');
    expect([ids.next(), ids.next(), tx.next(), ids.next()]).toEqual(['id-1', 'id-2', 'tx-1', 'id-3']);
  });
});

describe('PlainTestPasswordHasher', () => {
  it('verifies the password it hashed and no other', async () => {
    const hasher = new PlainTestPasswordHasher();
    const hash = await hasher.hash('secret');
    expect(hash).toBe('test$secret');
    expect(await hasher.verify('secret', hash)).toBe(true);
    expect(await hasher.verify('secreT', hash)).toBe(false);
    expect(await hasher.verify('secret2', hash)).toBe(false);
    expect(await hasher.verify('', hash)).toBe(false);
  });
});
