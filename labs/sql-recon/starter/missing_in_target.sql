-- missing_in_target.sql: every source txn_id that has no row in target_txn.
-- Output: one row per key, column txn_id (trimmed). See README.md, "Interface contract".
-- Replace the line below with one SELECT statement.
SELECT error('missing_in_target.sql is not written yet')
