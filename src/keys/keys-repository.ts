import type { Db } from '../db/database.ts';

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

interface KeyDbRow {
  kid: string;
  purpose: KeyPurpose;
  alg: string;
  private_jwk: string | null;
  public_jwk: string;
  created_at: number;
  retired_at: number | null;
  publish_until: number | null;
}

const toStoredKey = (row: KeyDbRow): StoredKey => ({
  kid: row.kid,
  purpose: row.purpose,
  alg: row.alg,
  privateJwk: row.private_jwk,
  publicJwk: row.public_jwk,
  createdAt: row.created_at,
  retiredAt: row.retired_at,
  publishUntil: row.publish_until,
});

export type KeysRepository = ReturnType<typeof createKeysRepository>;

export function createKeysRepository(db: Db) {
  const selectByPurpose = db.prepare<[KeyPurpose], KeyDbRow>('SELECT * FROM signing_keys WHERE purpose = ? ORDER BY created_at DESC, rowid DESC');
  const selectAll = db.prepare<[], KeyDbRow>('SELECT * FROM signing_keys ORDER BY purpose, created_at DESC, rowid DESC');
  const insert = db.prepare(
    'INSERT INTO signing_keys (kid, purpose, alg, private_jwk, public_jwk, created_at) VALUES (@kid, @purpose, @alg, @privateJwk, @publicJwk, @createdAt)',
  );
  // The private half of a retired key is erased: it can never sign again, only verify.
  const retire = db.prepare(
    'UPDATE signing_keys SET retired_at = @now, publish_until = @publishUntil, private_jwk = NULL WHERE purpose = @purpose AND retired_at IS NULL',
  );

  const rotate = db.transaction((key: Omit<StoredKey, 'retiredAt' | 'publishUntil'>, publishOldUntil: number) => {
    retire.run({ now: key.createdAt, publishUntil: publishOldUntil, purpose: key.purpose });
    insert.run(key);
  });

  return {
    byPurpose(purpose: KeyPurpose): StoredKey[] {
      return selectByPurpose.all(purpose).map(toStoredKey);
    },
    all(): StoredKey[] {
      return selectAll.all().map(toStoredKey);
    },
    /** Adds a new active key and retires the current one in one transaction. */
    rotate(key: Omit<StoredKey, 'retiredAt' | 'publishUntil'>, publishOldUntil: number): void {
      rotate(key, publishOldUntil);
    },
  };
}
