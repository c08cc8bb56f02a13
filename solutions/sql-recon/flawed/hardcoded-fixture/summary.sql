SELECT 23 AS source_rows, 24 AS target_rows, 5 AS unkeyed_rows, 3 AS missing_in_target,
       2 AS orphans_in_target, 4 AS duplicate_keys, 6 AS mismatched_keys, 8 AS reconciled_keys,
       CAST(42.11 AS DECIMAL(5, 2)) AS reconciled_pct
