-- duplicates.sql: every txn_id that occurs more than once on a side.
-- Output columns: side ('source' or 'target'), txn_id (trimmed), row_count.
-- Replace the line below with one SELECT statement.
SELECT error('duplicates.sql is not written yet')
