import type { JWK } from 'jose';
import type { KeyPurpose } from '../keys/keys-repository.ts';
import { createKeysRepository } from '../keys/keys-repository.ts';
import type { SigningAlgorithm } from '../keys/keystore.ts';
import type { WebisoServices } from '../services.ts';
import type { IdTokenAlg } from './config-schema.ts';

/**
 * The OpenID Provider signs with keys of webiso's keystore, one purpose per algorithm, apart from
 * the grant key: mod_auth_openidc 2.4 has no EdDSA, so each client names the algorithm it can
 * verify (ES256 by default, RS256, or EdDSA). All three are published at `/oidc/jwks`.
 */
const PURPOSES: Readonly<Record<IdTokenAlg, KeyPurpose>> = { ES256: 'oidc-es256', RS256: 'oidc-rs256', EdDSA: 'oidc-eddsa' };

export function oidcKeyPurpose(alg: IdTokenAlg): KeyPurpose {
  return PURPOSES[alg];
}

/** Creates the provider's keys on first start. */
export async function ensureOidcKeys(services: WebisoServices): Promise<void> {
  for (const [alg, purpose] of Object.entries(PURPOSES) as Array<[SigningAlgorithm, KeyPurpose]>) await services.keystore.ensureKey(purpose, alg);
}

/**
 * The private JWKs oidc-provider signs with, read once when the provider is built: the active key
 * of each purpose (oidc-provider's keystore is fixed at construction; docs/oidc.md, "Keys").
 */
export async function providerJwks(services: WebisoServices): Promise<{ keys: JWK[] }> {
  const repository = createKeysRepository(services.store.db);
  const keys: JWK[] = [];
  for (const purpose of Object.values(PURPOSES)) {
    const active = (await repository.byPurpose(purpose)).find((key) => key.retiredAt === null && key.privateJwk !== null);
    if (!active?.privateJwk) throw new Error(`no active ${purpose} signing key`);
    keys.push(JSON.parse(active.privateJwk) as JWK);
  }
  return { keys };
}
