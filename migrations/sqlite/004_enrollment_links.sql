-- One pending enrollment link per machine (docs/machines.md#enrollment): issuing a new link
-- cancels the older one, and admins can cancel a link before it is used. A cancelled link is
-- kept (its hash, who cancelled it and when) and can never be redeemed.
ALTER TABLE machine_enrollments ADD COLUMN cancelled_at INTEGER;
ALTER TABLE machine_enrollments ADD COLUMN cancelled_by TEXT;

-- Links issued before this migration: every unused one but the newest of each machine is
-- cancelled, and the history says so.
INSERT INTO machine_events (fqdn, action, version, actor, at, reason, detail)
SELECT e.fqdn, 'enroll_cancel', NULL, 'migration 004', CAST(strftime('%s', 'now') AS INTEGER), 'replaced by a newer link', 'code#' || substr(e.code_hash, 1, 10)
  FROM machine_enrollments e
 WHERE e.used_at IS NULL
   AND e.expires_at > CAST(strftime('%s', 'now') AS INTEGER)
   AND EXISTS (SELECT 1 FROM machine_enrollments newer
                WHERE newer.fqdn = e.fqdn AND newer.used_at IS NULL
                  AND (newer.created_at > e.created_at OR (newer.created_at = e.created_at AND newer.rowid > e.rowid)));
UPDATE machine_enrollments
   SET cancelled_at = CAST(strftime('%s', 'now') AS INTEGER), cancelled_by = 'migration 004'
 WHERE used_at IS NULL
   AND EXISTS (SELECT 1 FROM machine_enrollments newer
                WHERE newer.fqdn = machine_enrollments.fqdn AND newer.used_at IS NULL
                  AND (newer.created_at > machine_enrollments.created_at
                       OR (newer.created_at = machine_enrollments.created_at AND newer.rowid > machine_enrollments.rowid)));

-- At most one open (unused, not cancelled) link per machine, whatever races the application
-- loses: a second insert fails instead of leaving two usable links.
CREATE UNIQUE INDEX machine_enrollments_one_open ON machine_enrollments (fqdn) WHERE used_at IS NULL AND cancelled_at IS NULL;
