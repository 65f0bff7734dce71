// migrations/sqlite/009_cas_tickets_lean.sql on a database that already holds tickets: every
// ticket survives the rebuild and still validates once, the table is one B-tree (WITHOUT ROWID),
// and the expired ones are still purged without the index.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Kysely } from 'kysely';
import { createTicketRepository } from '../../src/cas/ticket-repository.ts';
import { WebisoSqliteDialect } from '../../src/store/sqlite-dialect.ts';
import type { Tables } from '../../src/store/tables.ts';
import { migratedUpTo } from '../support/partial-migrations.ts';

describe('SQLite migration 009: lean cas_tickets', () => {
  it('keeps every ticket through the rebuild; a kept ticket is consumed once, an expired one purged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webiso-009-'));
    try {
      const upgrade = migratedUpTo(dir, 9);
      const { db } = upgrade;
      const insert = db.prepare("INSERT INTO cas_tickets (id_hash, app_id, service, subject, flavor, from_new_login, created_at, expires_at, sid) VALUES (?, 'app', 'https://app.example.edu/', '{\"kind\":\"user\",\"username\":\"alice\",\"authTime\":1,\"amr\":[\"pwd\"],\"roles\":[]}', 'basic', 1, 100, ?, 'sid-1')");
      insert.run('live', 10_000);
      insert.run('expired', 200);
      assert.deepEqual(upgrade.apply(), ['009_cas_tickets_lean.sql']);
      const table = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'cas_tickets'").pluck().get() as string;
      assert.match(table, /WITHOUT ROWID/);
      assert.deepEqual(db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'cas_tickets' AND sql IS NOT NULL").all(), [], 'no expiry index');

      const kysely = new Kysely<Tables>({ dialect: new WebisoSqliteDialect(db) });
      const tickets = createTicketRepository(kysely);
      assert.equal(await tickets.purgeExpired(300), 1);
      const consumed = await tickets.consume('live');
      assert.deepEqual(consumed && { ...consumed, subject: consumed.subject.kind }, { appId: 'app', service: 'https://app.example.edu/', subject: 'user', flavor: 'basic', fromNewLogin: true, sid: 'sid-1', createdAt: 100, expiresAt: 10_000 });
      assert.equal(await tickets.consume('live'), undefined, 'single use');
      await kysely.destroy();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
