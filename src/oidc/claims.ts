import { createHmac } from 'node:crypto';
import type { Account, AdapterPayload, FindAccount } from 'oidc-provider';
import { machineUser } from '../cas/released-identity.ts';
import type { WebisoConfig } from '../config/schema.ts';
import type { Subject } from '../login/login-request.ts';
import type { OidcStore } from './adapter.ts';

/**
 * What an OIDC client learns about a person or a kiosk machine. The account id is the public
 * `sub`: a person's username, a machine's `host/<fqdn>` (cas.machineUserPattern, the same name CAS
 * releases); the `/` keeps the two apart, and usernames with `/` are never released.
 */

export const OIDC_CLAIMS = {
  // amr and acr come from the login (the interaction's result), not from the account
  openid: ['sub', 'webiso_kind', 'amr', 'acr'],
  profile: ['preferred_username'],
  roles: ['roles'],
  machine: ['machine_fqdn', 'machine_location', 'entitlements'],
} as const;

/** What is remembered of a login for findAccount (userinfo, ID tokens at the token endpoint). */
export type AccountSnapshot =
  | { readonly kind: 'user'; readonly username: string; readonly roles: readonly string[] }
  | { readonly kind: 'machine'; readonly fqdn: string; readonly location: string | null; readonly entitlements: readonly string[] };

const ACCOUNT_MODEL = 'WebisoAccount';

export function accountIdOf(config: Pick<WebisoConfig, 'cas'>, subject: Subject): string {
  return subject.kind === 'user' ? subject.username : machineUser(config.cas.machineUserPattern, subject.fqdn);
}

export function snapshotOf(subject: Subject): AccountSnapshot {
  return subject.kind === 'user'
    ? { kind: 'user', username: subject.username, roles: subject.roles }
    : { kind: 'machine', fqdn: subject.fqdn, location: subject.location, entitlements: subject.entitlements };
}

/** The latest login's claims for an account, kept as long as a session can last. */
export async function saveAccount(store: OidcStore, accountId: string, snapshot: AccountSnapshot, ttlSeconds: number): Promise<void> {
  await store.adapterFor(ACCOUNT_MODEL).upsert(accountId, { snapshot } as unknown as AdapterPayload, ttlSeconds);
}

function claimsOf(accountId: string, snapshot: AccountSnapshot): Record<string, unknown> {
  if (snapshot.kind === 'user') {
    return { sub: accountId, webiso_kind: 'user', preferred_username: snapshot.username, roles: [...snapshot.roles] };
  }
  return {
    sub: accountId,
    webiso_kind: 'machine',
    preferred_username: accountId,
    machine_fqdn: snapshot.fqdn,
    ...(snapshot.location === null ? {} : { machine_location: snapshot.location }),
    entitlements: [...snapshot.entitlements],
  };
}

export function findAccountIn(store: OidcStore): FindAccount {
  return async (_ctx, accountId): Promise<Account | undefined> => {
    const stored = (await store.adapterFor(ACCOUNT_MODEL).find(accountId)) as { snapshot?: AccountSnapshot } | undefined;
    if (!stored?.snapshot) return undefined;
    const claims = claimsOf(accountId, stored.snapshot);
    return { accountId, claims: async () => ({ sub: accountId, ...claims }) };
  };
}

/**
 * A person's pairwise `sub`: stable per client sector (the redirect URIs' host), unlinkable across
 * sectors. A machine keeps `host/<fqdn>`: it is not personal data and apps key kiosk rules on it.
 */
export function pairwiseSub(secret: Buffer, sectorIdentifier: string, accountId: string): string {
  if (accountId.includes('/')) return accountId;
  return createHmac('sha256', secret).update(`${sectorIdentifier}\u0000${accountId}`).digest('base64url');
}
