import { randomBytes } from 'node:crypto';
import type { Db } from './database.ts';

/** Returns the named random secret, creating it on first start. Never defaulted, never logged. */
export function getOrCreateSecret(db: Db, name: string, bytes = 32): Buffer {
  db.prepare('INSERT OR IGNORE INTO server_secrets (name, value, created_at) VALUES (?, ?, ?)').run(name, randomBytes(bytes), Math.floor(Date.now() / 1000));
  const value = db.prepare<[string], Buffer>('SELECT value FROM server_secrets WHERE name = ?').pluck().get(name);
  if (!value) throw new Error(`server secret ${name} could not be created`);
  return value;
}
