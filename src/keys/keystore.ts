import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { createCompactSigner, type CompactSigner } from './compact-jws.ts';
import { createKeyCache } from './key-cache.ts';
import type { KeyPurpose, KeysRepository, NewKey, StoredKey } from './keys-repository.ts';

export type SigningAlgorithm = 'EdDSA' | 'ES256' | 'RS256';

export interface ActiveSigningKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly key: CryptoKey;
}

export interface KeystoreOptions {
  readonly repository: KeysRepository;
  readonly now: () => number;
  /** how long a retired key stays published: the longest lifetime of a token it signed, plus margin */
  readonly retiredKeyGraceSeconds: number;
}

async function newKeyRow(purpose: KeyPurpose, alg: SigningAlgorithm, nowSeconds: number): Promise<NewKey> {
  const options = alg === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : alg === 'RS256' ? { modulusLength: 2048, extractable: true } : { extractable: true };
  const { privateKey, publicKey } = await generateKeyPair(alg, options);
  const kid = randomBytes(12).toString('base64url');
  const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, purpose, alg, privateJwk: JSON.stringify(privateJwk), publicJwk: JSON.stringify(publicJwk), createdAt: nowSeconds };
}

export interface Keystore {
  /** Creates the first key for a purpose if none exists (first start), and loads the keys into memory. */
  ensureKey(purpose: KeyPurpose, alg: SigningAlgorithm): Promise<void>;
  /** A new active key; this process signs with it at once, other hosts within the cache period (5 s). */
  rotate(purpose: KeyPurpose, alg: SigningAlgorithm): Promise<string>;
  activeKey(purpose: KeyPurpose): Promise<ActiveSigningKey>;
  /** The active key as a synchronous compact-JWS signer (the grant hot path): from memory, never waits for the database. */
  activeSigner(purpose: KeyPurpose): CompactSigner;
  /** Public keys still worth trusting for a purpose (active plus retired-but-published); from memory. */
  publicJwks(purpose: KeyPurpose): { keys: JWK[] };
  verificationKey(purpose: KeyPurpose, kid: string): Promise<CryptoKey | undefined>;
  /** Reads the keys again now (what the background refresh does every 5 s). */
  refresh(): Promise<void>;
  /** Where a failed background refresh is reported. */
  setLogger(log: FastifyBaseLogger): void;
  /** Stops the background refresh. */
  close(): void;
}

const isActive = (key: StoredKey): key is StoredKey & { privateJwk: string } => key.retiredAt === null && key.privateJwk !== null;

export function createKeystore({ repository, now, retiredKeyGraceSeconds }: KeystoreOptions): Keystore {
  const imported = new Map<string, Promise<CryptoKey>>();
  const signers = new Map<string, CompactSigner>();
  const cache = createKeyCache(repository, now);
  const nowSeconds = () => Math.floor(now() / 1000);

  function publishable(key: StoredKey): boolean {
    return key.retiredAt === null || (key.publishUntil !== null && key.publishUntil > nowSeconds());
  }

  function activeOf(purpose: KeyPurpose, keys: readonly StoredKey[]) {
    const active = keys.find(isActive);
    if (!active) throw new Error(`no active ${purpose} signing key`);
    return active;
  }

  function importOnce(cacheKey: string, jwk: string, alg: string): Promise<CryptoKey> {
    let key = imported.get(cacheKey);
    if (!key) {
      key = importJWK(JSON.parse(jwk) as JWK, alg) as Promise<CryptoKey>;
      imported.set(cacheKey, key);
    }
    return key;
  }

  return {
    async ensureKey(purpose, alg) {
      if (!(await repository.byPurpose(purpose)).some(isActive)) {
        // Hosts starting at once on a new store may each add a first key, and one may already sign
        // with its own: a key retired here stays published (the grace period), so nothing it signed
        // fails. Every host keeps the active key all readers order first and retires the others.
        await repository.rotate(await newKeyRow(purpose, alg, nowSeconds()), nowSeconds() + retiredKeyGraceSeconds);
        const active = (await repository.byPurpose(purpose)).filter(isActive);
        const [first] = active;
        if (first && active.length > 1) await repository.retireAllBut(purpose, first.kid, nowSeconds(), nowSeconds() + retiredKeyGraceSeconds);
      }
      await cache.reload();
    },
    async rotate(purpose, alg) {
      const row = await newKeyRow(purpose, alg, nowSeconds());
      await repository.rotate(row, nowSeconds() + retiredKeyGraceSeconds);
      await cache.reload();
      return row.kid;
    },
    async activeKey(purpose) {
      const active = activeOf(purpose, await cache.freshKeys(purpose));
      return { kid: active.kid, alg: active.alg as SigningAlgorithm, key: await importOnce(`private:${active.kid}`, active.privateJwk, active.alg) };
    },
    activeSigner(purpose) {
      const active = activeOf(purpose, cache.keys(purpose));
      let signer = signers.get(active.kid);
      if (!signer) {
        signer = createCompactSigner(active.kid, active.alg as SigningAlgorithm, active.privateJwk);
        signers.set(active.kid, signer);
      }
      return signer;
    },
    publicJwks(purpose) {
      return { keys: cache.keys(purpose).filter(publishable).map((key) => JSON.parse(key.publicJwk) as JWK) };
    },
    async verificationKey(purpose, kid) {
      const key = (await cache.freshKeys(purpose)).find((candidate) => candidate.kid === kid && publishable(candidate));
      return key ? importOnce(`public:${key.kid}`, key.publicJwk, key.alg) : undefined;
    },
    refresh: () => cache.reload(),
    setLogger: (log) => cache.setLogger(log),
    close: () => cache.close(),
  };
}
