import type { Clock, IdGenerator, PasswordHasher } from '@sitesync/domain';

/** A clock that only moves when a test moves it. `now()` returns a new Date each time. */
export class ManualClock implements Clock {
  private current: number;

  constructor(start: Date = new Date('2026-01-01T00:00:00.000Z')) {
    this.current = start.getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  /** Moves the clock by `ms` milliseconds (a negative number moves it back). */
  advance(ms: number): void {
    if (!Number.isFinite(ms)) throw new Error(`ManualClock.advance: ${ms} is not a finite number of milliseconds`);
    this.current += ms;
  }

  /** Sets the clock to `at`. */
  set(at: Date): void {
    this.current = at.getTime();
  }
}

/** Predictable ids: `${prefix}-1`, `${prefix}-2`, ... */
export class SequentialIdGenerator implements IdGenerator {
  private count = 0;

  constructor(private readonly prefix: string = 'id') {}

  next(): string {
    this.count += 1;
    return `${this.prefix}-${this.count}`;
  }
}

/**
 * !!! FOR TESTS ONLY. NEVER USE IN PRODUCTION. !!!
 *
 * This "hasher" does not hash at all: the password is kept in clear, behind a `test$` prefix, with
 * no salt and no work factor, so that tests are fast and their expected values readable. A real
 * composition root must bind a salted slow hash (scrypt, argon2, bcrypt) to the PasswordHasher port.
 */
export class PlainTestPasswordHasher implements PasswordHasher {
  static readonly PREFIX = 'test$';

  hash(password: string): Promise<string> {
    return Promise.resolve(PlainTestPasswordHasher.PREFIX + password);
  }

  verify(password: string, hash: string): Promise<boolean> {
    return Promise.resolve(sameString(PlainTestPasswordHasher.PREFIX + password, hash));
  }
}

/** Compares every character whatever the first difference (the port asks for constant time). */
function sameString(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  const length = Math.max(a.length, b.length);
  for (let i = 0; i < length; i += 1) {
    diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  }
  return diff === 0;
}
