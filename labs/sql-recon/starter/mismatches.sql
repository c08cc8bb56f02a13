-- mismatches.sql: for keys present exactly once on each side, one row per field that differs.
-- Output columns: txn_id (trimmed), field ('amount', 'currency', 'status' or 'booked_at').
-- Replace the line below with one SELECT statement.
SELECT error('mismatches.sql is not written yet')
