import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Db } from '../db/database.ts';

/**
 * oidc-provider's storage adapter on webiso's SQLite database (migration 006): one table for every
 * model. Every row has an expiry (an expired row is never returned, and is purged); single-use
 * models (authorization codes, …) are consumed in place, so oidc-provider sees `consumed` on a
 * replay and revokes the grant's tokens through revokeByGrantId.
 */

interface ModelRow {
  payload: string;
  expires_at: number;
  consumed_at: number | null;
}

/** A model without an expiry of its own (none in practice) is kept for a day. */
const DEFAULT_TTL_SECONDS = 86_400;
/** Expired rows are deleted at most this often, on a write. */
const PURGE_EVERY_SECONDS = 60;

export interface OidcStore {
  adapterFor(model: string): Adapter;
  /** Deletes every expired row; returns how many. */
  purgeExpired(): number;
}

export function createOidcStore(db: Db, now: () => number): OidcStore {
  const nowSeconds = () => Math.floor(now() / 1000);
  const upsert = db.prepare(
    `INSERT INTO oidc_models (model, id, payload, grant_id, uid, user_code, expires_at, consumed_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)
     ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id, uid = excluded.uid, user_code = excluded.user_code, expires_at = excluded.expires_at`,
  );
  const byId = db.prepare<[string, string, number], ModelRow>('SELECT payload, expires_at, consumed_at FROM oidc_models WHERE model = ? AND id = ? AND expires_at > ?');
  const byUid = db.prepare<[string, string, number], ModelRow>('SELECT payload, expires_at, consumed_at FROM oidc_models WHERE model = ? AND uid = ? AND expires_at > ?');
  const byUserCode = db.prepare<[string, string, number], ModelRow>('SELECT payload, expires_at, consumed_at FROM oidc_models WHERE model = ? AND user_code = ? AND expires_at > ?');
  const consume = db.prepare('UPDATE oidc_models SET consumed_at = ? WHERE model = ? AND id = ? AND consumed_at IS NULL');
  const destroy = db.prepare('DELETE FROM oidc_models WHERE model = ? AND id = ?');
  const revokeByGrant = db.prepare('DELETE FROM oidc_models WHERE model = ? AND grant_id = ?');
  const purge = db.prepare('DELETE FROM oidc_models WHERE expires_at <= ?');
  let lastPurge = 0;

  function purgeExpired(): number {
    lastPurge = nowSeconds();
    return purge.run(lastPurge).changes;
  }

  function toPayload(row: ModelRow | undefined): AdapterPayload | undefined {
    if (!row) return undefined;
    const payload = JSON.parse(row.payload) as AdapterPayload;
    return row.consumed_at === null ? payload : { ...payload, consumed: row.consumed_at };
  }

  function adapterFor(model: string): Adapter {
    return {
      async upsert(id, payload, expiresIn) {
        const at = nowSeconds();
        const ttl = typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn : DEFAULT_TTL_SECONDS;
        upsert.run(model, id, JSON.stringify(payload), payload.grantId ?? null, payload.uid ?? null, payload.userCode ?? null, at + ttl);
        if (at - lastPurge >= PURGE_EVERY_SECONDS) purgeExpired();
      },
      async find(id) {
        return toPayload(byId.get(model, id, nowSeconds()));
      },
      async findByUid(uid) {
        return toPayload(byUid.get(model, uid, nowSeconds()));
      },
      async findByUserCode(userCode) {
        return toPayload(byUserCode.get(model, userCode, nowSeconds()));
      },
      async consume(id) {
        consume.run(nowSeconds(), model, id);
      },
      async destroy(id) {
        destroy.run(model, id);
      },
      async revokeByGrantId(grantId) {
        revokeByGrant.run(model, grantId);
      },
    };
  }

  return { adapterFor, purgeExpired };
}
