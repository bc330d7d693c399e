import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { PasswordHasher } from '@sitesync/domain';

const SALT_BYTES = 16;
const KEY_BYTES = 32;
const DEFAULT_COST = 16384;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;

function scryptAsync(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/**
 * What a remote site sends instead of its password: the SHA-256 of the password as lower-case hex
 * (as mSupply does). The central stores `new ScryptPasswordHasher().hash(sha256Hex(password))`.
 */
export function sha256Hex(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('hex');
}

/**
 * Salted scrypt hashes: `scrypt$<N>$<r>$<p>$<salt base64>$<key base64>` (16-byte random salt, 32-byte
 * key, N=16384 r=8 p=1 unless `cost` says otherwise). A hash keeps its own parameters, so hashes
 * made with another cost still verify.
 */
export class ScryptPasswordHasher implements PasswordHasher {
  private readonly cost: number;

  /** `cost` (scrypt N, a power of two) is lowered only by tests, to run fast. */
  constructor(options: { readonly cost?: number } = {}) {
    const cost = options.cost ?? DEFAULT_COST;
    if (!Number.isInteger(cost) || cost < 2 || (cost & (cost - 1)) !== 0) {
      throw new Error(`ScryptPasswordHasher: cost ${cost} is not a power of two greater than 1`);
    }
    this.cost = cost;
  }

  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    const key = await scryptAsync(password, salt, KEY_BYTES, { N: this.cost, r: BLOCK_SIZE, p: PARALLELISM, maxmem: maxmemFor(this.cost, BLOCK_SIZE) });
    return ['scrypt', this.cost, BLOCK_SIZE, PARALLELISM, salt.toString('base64'), key.toString('base64')].join('$');
  }

  /** False for a wrong password and for a stored hash this class cannot read. */
  async verify(password: string, hash: string): Promise<boolean> {
    const parsed = parseHash(hash);
    if (!parsed) return false;
    const { N, r, p, salt, key } = parsed;
    let candidate: Buffer;
    try {
      candidate = await scryptAsync(password, salt, key.length, { N, r, p, maxmem: maxmemFor(N, r) });
    } catch {
      return false;
    }
    return candidate.length === key.length && timingSafeEqual(candidate, key);
  }
}

/** Node refuses scrypt above `maxmem` (32 MiB by default); 128*N*r bytes are needed, plus headroom. */
function maxmemFor(N: number, r: number): number {
  return Math.max(32 * 1024 * 1024, 256 * N * r);
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const MAX_COST = 1 << 20;

function parseHash(hash: string): { N: number; r: number; p: number; salt: Buffer; key: Buffer } | null {
  const parts = hash.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [, n, r, p, salt, key] = parts;
  const numbers = [n, r, p].map((s) => (s !== undefined && /^\d{1,7}$/.test(s) ? Number(s) : NaN));
  const [N, R, P] = numbers as [number, number, number];
  if (!(N >= 2 && N <= MAX_COST && (N & (N - 1)) === 0) || !(R >= 1 && R <= 32) || !(P >= 1 && P <= 16)) return null;
  if (salt === undefined || key === undefined || !BASE64.test(salt) || !BASE64.test(key)) return null;
  const saltBytes = Buffer.from(salt, 'base64');
  const keyBytes = Buffer.from(key, 'base64');
  if (saltBytes.length === 0 || keyBytes.length < 16) return null;
  return { N, r: R, p: P, salt: saltBytes, key: keyBytes };
}
