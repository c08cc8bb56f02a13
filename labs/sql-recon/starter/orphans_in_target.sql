-- orphans_in_target.sql: every target txn_id that has no row in source_txn.
-- Output: one row per key, column txn_id (trimmed). See README.md, "Interface contract".
-- Replace the line below with one SELECT statement.
SELECT error('orphans_in_target.sql is not written yet')
