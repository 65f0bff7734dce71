import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { createCompactSigner, type CompactSigner } from './compact-jws.ts';
import type { KeyPurpose, KeysRepository, StoredKey } from './keys-repository.ts';

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

/** How long the server trusts its in-memory copy before re-reading keys another process (the CLI) may have rotated. */
const CACHE_SECONDS = 5;

async function newKeyRow(purpose: KeyPurpose, alg: SigningAlgorithm, nowSeconds: number) {
  const options = alg === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : alg === 'RS256' ? { modulusLength: 2048, extractable: true } : { extractable: true };
  const { privateKey, publicKey } = await generateKeyPair(alg, options);
  const kid = randomBytes(12).toString('base64url');
  const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, purpose, alg, privateJwk: JSON.stringify(privateJwk), publicJwk: JSON.stringify(publicJwk), createdAt: nowSeconds };
}

export interface Keystore {
  /** Creates the first key for a purpose if none exists (first start). */
  ensureKey(purpose: KeyPurpose, alg: SigningAlgorithm): Promise<void>;
  rotate(purpose: KeyPurpose, alg: SigningAlgorithm): Promise<string>;
  activeKey(purpose: KeyPurpose): Promise<ActiveSigningKey>;
  /** The active key as a synchronous compact-JWS signer (the grant hot path). */
  activeSigner(purpose: KeyPurpose): CompactSigner;
  /** Public keys still worth trusting for a purpose (active plus retired-but-published). */
  publicJwks(purpose: KeyPurpose): { keys: JWK[] };
  verificationKey(purpose: KeyPurpose, kid: string): Promise<CryptoKey | undefined>;
}

export function createKeystore({ repository, now, retiredKeyGraceSeconds }: KeystoreOptions): Keystore {
  const imported = new Map<string, Promise<CryptoKey>>();
  const signers = new Map<string, CompactSigner>();
  const cache = new Map<KeyPurpose, { loadedAt: number; keys: StoredKey[] }>();
  const nowSeconds = () => Math.floor(now() / 1000);

  function keysFor(purpose: KeyPurpose): StoredKey[] {
    const cached = cache.get(purpose);
    if (cached && nowSeconds() - cached.loadedAt < CACHE_SECONDS) return cached.keys;
    const keys = repository.byPurpose(purpose);
    cache.set(purpose, { loadedAt: nowSeconds(), keys });
    return keys;
  }

  function publishable(key: StoredKey): boolean {
    return key.retiredAt === null || (key.publishUntil !== null && key.publishUntil > nowSeconds());
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
      if (repository.byPurpose(purpose).some((key) => key.retiredAt === null)) return;
      repository.rotate(await newKeyRow(purpose, alg, nowSeconds()), nowSeconds());
      cache.delete(purpose);
    },
    async rotate(purpose, alg) {
      const row = await newKeyRow(purpose, alg, nowSeconds());
      repository.rotate(row, nowSeconds() + retiredKeyGraceSeconds);
      cache.delete(purpose);
      return row.kid;
    },
    async activeKey(purpose) {
      const active = keysFor(purpose).find((key) => key.retiredAt === null && key.privateJwk !== null);
      if (!active || active.privateJwk === null) throw new Error(`no active ${purpose} signing key`);
      return { kid: active.kid, alg: active.alg as SigningAlgorithm, key: await importOnce(`private:${active.kid}`, active.privateJwk, active.alg) };
    },
    activeSigner(purpose) {
      const active = keysFor(purpose).find((key) => key.retiredAt === null && key.privateJwk !== null);
      if (!active || active.privateJwk === null) throw new Error(`no active ${purpose} signing key`);
      let signer = signers.get(active.kid);
      if (!signer) {
        signer = createCompactSigner(active.kid, active.alg as SigningAlgorithm, active.privateJwk);
        signers.set(active.kid, signer);
      }
      return signer;
    },
    publicJwks(purpose) {
      return { keys: keysFor(purpose).filter(publishable).map((key) => JSON.parse(key.publicJwk) as JWK) };
    },
    async verificationKey(purpose, kid) {
      const key = keysFor(purpose).find((candidate) => candidate.kid === kid && publishable(candidate));
      return key ? importOnce(`public:${key.kid}`, key.publicJwk, key.alg) : undefined;
    },
  };
}
