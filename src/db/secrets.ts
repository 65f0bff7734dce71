import { randomBytes } from 'node:crypto';
import type { Queryable } from '../store/store.ts';

/**
 * Returns the named random secret, creating it on first start. Never defaulted, never logged.
 * Several hosts may start at once on a new store: each offers its random value, the first insert
 * wins (ON CONFLICT DO NOTHING), and every host then reads the one stored.
 */
export async function getOrCreateSecret(db: Queryable, name: string, bytes = 32): Promise<Buffer> {
  await db
    .insertInto('server_secrets')
    .values({ name, value: randomBytes(bytes), created_at: Math.floor(Date.now() / 1000) })
    .onConflict((conflict) => conflict.column('name').doNothing())
    .execute();
  const row = await db.selectFrom('server_secrets').select('value').where('name', '=', name).executeTakeFirst();
  if (!row) throw new Error(`server secret ${name} could not be created`);
  return Buffer.from(row.value);
}
