import { createHash } from 'node:crypto';
import { ScryptPasswordHasher, sha256Hex } from '../src/index';

describe('ScryptPasswordHasher', () => {
  it('hashes with N=16384 r=8 p=1, a 16-byte salt and a 32-byte key by default, and verifies', async () => {
    const hasher = new ScryptPasswordHasher();
    const hash = await hasher.hash('secret');
    const [scheme, n, r, p, salt, key] = hash.split('$');
    expect([scheme, n, r, p]).toEqual(['scrypt', '16384', '8', '1']);
    expect(Buffer.from(salt!, 'base64')).toHaveLength(16);
    expect(Buffer.from(key!, 'base64')).toHaveLength(32);
    expect(await hasher.verify('secret', hash)).toBe(true);
    expect(await hasher.verify('Secret', hash)).toBe(false);
  });

  it('salts every hash', async () => {
    const hasher = new ScryptPasswordHasher({ cost: 1024 });
    const [a, b] = await Promise.all([hasher.hash('same'), hasher.hash('same')]);
    expect(a).not.toBe(b);
    expect(await hasher.verify('same', a)).toBe(true);
    expect(await hasher.verify('same', b)).toBe(true);
  });

  it('verifies a hash made with another cost (the parameters travel with the hash)', async () => {
    const low = await new ScryptPasswordHasher({ cost: 1024 }).hash('pw');
    expect(await new ScryptPasswordHasher().verify('pw', low)).toBe(true);
  });

  it('answers false for a malformed stored hash', async () => {
    const hasher = new ScryptPasswordHasher({ cost: 1024 });
    const good = await hasher.hash('pw');
    const parts = good.split('$');
    const variants = [
      '',
      'pw',
      'test$pw',
      'bcrypt$16384$8$1$abc$def',
      good.replace('scrypt$1024', 'scrypt$1000'),
      good.replace('scrypt$1024', 'scrypt$99999999'),
      [...parts.slice(0, 5), '!!notbase64!!'].join('$'),
      [...parts.slice(0, 5), 'AAAA'].join('$'),
      `${good}$extra`,
    ];
    for (const hash of variants) expect(await hasher.verify('pw', hash)).toBe(false);
  });

  it('refuses a cost that is not a power of two', () => {
    expect(() => new ScryptPasswordHasher({ cost: 1000 })).toThrow('power of two');
  });
});

describe('sha256Hex', () => {
  it('is the lower-case hex SHA-256 of the UTF-8 password', () => {
    expect(sha256Hex('password')).toBe('5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8');
    expect(sha256Hex('mot de passe é')).toBe(createHash('sha256').update(Buffer.from('mot de passe é', 'utf8')).digest('hex'));
  });
});
