import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Queryable } from '../store/store.ts';

/**
 * oidc-provider's storage adapter on webiso's store (migration 006): one table for every model.
 * Every row has an expiry (an expired row is never returned, and housekeeping purges it,
 * src/server.ts); single-use models (authorization codes, refresh tokens, …) are consumed in place,
 * so oidc-provider sees `consumed` on a replay and revokes the grant's tokens through
 * revokeByGrantId.
 */

interface ModelRow {
  payload: string;
  consumed_at: number | null;
}

/** A model without an expiry of its own (none in practice) is kept for a day. */
const DEFAULT_TTL_SECONDS = 86_400;

export interface OidcStore {
  adapterFor(model: string): Adapter;
}

export interface OidcStoreOptions {
  /**
   * The error for a consume that lost the race: the code (or refresh token) was consumed by another
   * request, on this host or another, between oidc-provider's find and its consume. oidc-provider's
   * InvalidGrant, so the client gets invalid_grant rather than a second set of tokens.
   */
  readonly alreadyConsumed: (model: string) => Error;
}

/** Deletes every expired row (housekeeping, under its lease); returns how many. */
export async function purgeExpiredOidcModels(db: Queryable, nowSeconds: number): Promise<number> {
  const result = await db.deleteFrom('oidc_models').where('expires_at', '<=', nowSeconds).executeTakeFirst();
  return Number(result.numDeletedRows);
}

function toPayload(row: ModelRow | undefined): AdapterPayload | undefined {
  if (!row) return undefined;
  const payload = JSON.parse(row.payload) as AdapterPayload;
  return row.consumed_at === null ? payload : { ...payload, consumed: Number(row.consumed_at) };
}

export function createOidcStore(db: Queryable, now: () => number, options: OidcStoreOptions): OidcStore {
  const nowSeconds = () => Math.floor(now() / 1000);

  function findBy(model: string, column: 'id' | 'uid' | 'user_code', value: string): Promise<ModelRow | undefined> {
    return db
      .selectFrom('oidc_models')
      .select(['payload', 'consumed_at'])
      .where('model', '=', model)
      .where(column, '=', value)
      .where('expires_at', '>', nowSeconds())
      .executeTakeFirst();
  }

  function adapterFor(model: string): Adapter {
    return {
      async upsert(id, payload, expiresIn) {
        const ttl = typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn : DEFAULT_TTL_SECONDS;
        await db
          .insertInto('oidc_models')
          .values({ model, id, payload: JSON.stringify(payload), grant_id: payload.grantId ?? null, uid: payload.uid ?? null, user_code: payload.userCode ?? null, expires_at: nowSeconds() + ttl, consumed_at: null })
          .onConflict((conflict) =>
            conflict.columns(['model', 'id']).doUpdateSet((eb) => ({
              payload: eb.ref('excluded.payload'),
              grant_id: eb.ref('excluded.grant_id'),
              uid: eb.ref('excluded.uid'),
              user_code: eb.ref('excluded.user_code'),
              expires_at: eb.ref('excluded.expires_at'),
            })),
          )
          .execute();
      },
      async find(id) {
        return toPayload(await findBy(model, 'id', id));
      },
      async findByUid(uid) {
        return toPayload(await findBy(model, 'uid', uid));
      },
      async findByUserCode(userCode) {
        return toPayload(await findBy(model, 'user_code', userCode));
      },
      /** One conditional UPDATE: of two requests that found the code unconsumed, only one consumes it. */
      async consume(id) {
        const result = await db
          .updateTable('oidc_models')
          .set({ consumed_at: nowSeconds() })
          .where('model', '=', model)
          .where('id', '=', id)
          .where('consumed_at', 'is', null)
          .executeTakeFirst();
        if (result.numUpdatedRows !== 1n) throw options.alreadyConsumed(model);
      },
      async destroy(id) {
        await db.deleteFrom('oidc_models').where('model', '=', model).where('id', '=', id).execute();
      },
      async revokeByGrantId(grantId) {
        await db.deleteFrom('oidc_models').where('model', '=', model).where('grant_id', '=', grantId).execute();
      },
    };
  }

  return { adapterFor };
}
