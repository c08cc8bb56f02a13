-- summary.sql: one row of counts and the reconciled percentage.
-- Output columns: source_rows, target_rows, unkeyed_rows, missing_in_target, orphans_in_target,
--                 duplicate_keys, mismatched_keys, reconciled_keys, reconciled_pct.
-- Replace the line below with one SELECT statement.
SELECT error('summary.sql is not written yet')
