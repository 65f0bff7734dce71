-- As SQLite 009: the expiry index goes (one page less written per ticket); the housekeeping purge
-- scans a table that holds only unvalidated tickets within their 60 s lifetime.
DROP INDEX cas_tickets_by_expiry;
