import type { Selectable } from 'kysely';
import { atomically } from '../db/atomically.ts';
import type { Queryable } from '../store/store.ts';
import type { Tables } from '../store/tables.ts';

/** grant: grants and logout tokens; machine: machine cookies; oidc-*: the OpenID Provider's ID tokens, one key per algorithm (src/oidc/keys.ts). */
export type KeyPurpose = 'grant' | 'machine' | 'oidc-es256' | 'oidc-rs256' | 'oidc-eddsa';

export interface StoredKey {
  readonly kid: string;
  readonly purpose: KeyPurpose;
  readonly alg: string;
  readonly privateJwk: string | null;
  readonly publicJwk: string;
  readonly createdAt: number;
  readonly retiredAt: number | null;
  readonly publishUntil: number | null;
}

export type NewKey = Omit<StoredKey, 'retiredAt' | 'publishUntil'>;

const toStoredKey = (row: Selectable<Tables['signing_keys']>): StoredKey => ({
  kid: row.kid,
  purpose: row.purpose as KeyPurpose,
  alg: row.alg,
  privateJwk: row.private_jwk,
  publicJwk: row.public_jwk,
  createdAt: row.created_at,
  retiredAt: row.retired_at,
  publishUntil: row.publish_until,
});

export type KeysRepository = ReturnType<typeof createKeysRepository>;

/**
 * Signing keys, newest first (ties within a second broken by kid: every reader orders them the
 * same way, so every host picks the same key). Retiring a key erases its private half: it can
 * never sign again, only verify.
 */
export function createKeysRepository(db: Queryable) {
  async function retireActive(trx: Queryable, purpose: KeyPurpose, nowSeconds: number, publishUntil: number, keepKid?: string): Promise<void> {
    let update = trx
      .updateTable('signing_keys')
      .set({ retired_at: nowSeconds, publish_until: publishUntil, private_jwk: null })
      .where('purpose', '=', purpose)
      .where('retired_at', 'is', null);
    if (keepKid !== undefined) update = update.where('kid', '!=', keepKid);
    await update.execute();
  }

  return {
    async byPurpose(purpose: KeyPurpose): Promise<StoredKey[]> {
      const rows = await db.selectFrom('signing_keys').selectAll().where('purpose', '=', purpose).orderBy('created_at', 'desc').orderBy('kid').execute();
      return rows.map(toStoredKey);
    },
    async all(): Promise<StoredKey[]> {
      const rows = await db.selectFrom('signing_keys').selectAll().orderBy('purpose').orderBy('created_at', 'desc').orderBy('kid').execute();
      return rows.map(toStoredKey);
    },
    /** Adds a new active key and retires the current one in one transaction. */
    async rotate(key: NewKey, publishOldUntil: number): Promise<void> {
      await atomically(db, async (trx) => {
        await retireActive(trx, key.purpose, key.createdAt, publishOldUntil);
        await trx
          .insertInto('signing_keys')
          .values({ kid: key.kid, purpose: key.purpose, alg: key.alg, private_jwk: key.privateJwk, public_jwk: key.publicJwk, created_at: key.createdAt })
          .execute();
      });
    },
    /** Retires every active key of a purpose but `keepKid` (two hosts that created a first key at once). */
    async retireAllBut(purpose: KeyPurpose, keepKid: string, nowSeconds: number, publishUntil: number): Promise<void> {
      await retireActive(db, purpose, nowSeconds, publishUntil, keepKid);
    },
  };
}
