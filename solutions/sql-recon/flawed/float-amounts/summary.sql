-- One row: how much of the ERP reached the platform intact, and what did not.
-- Each side is aggregated per trimmed key once; unkeyed rows (NULL or blank)
-- land in the '' group, which is counted but never matched.
WITH src AS (
    SELECT coalesce(trim(txn_id), '') AS txn_id,
           count(*) AS n,
           any_value(amount) AS amount,                       -- the value, when n = 1
           any_value(upper(trim(currency))) AS currency,
           any_value(upper(trim(status))) AS status,
           any_value(CAST(booked_at AS TIMESTAMPTZ)) AS booked_at
    FROM source_txn
    GROUP BY ALL
), tgt AS (
    SELECT coalesce(trim(txn_id), '') AS txn_id,
           count(*) AS n,
           any_value(amount) AS amount,
           any_value(upper(trim(currency))) AS currency,
           any_value(upper(trim(status))) AS status,
           any_value(CAST(booked_at AS TIMESTAMPTZ)) AS booked_at
    FROM target_txn
    GROUP BY ALL
), keys AS (
    -- FULL JOIN: a key missing on either side must still be counted.
    SELECT txn_id = '' AS unkeyed,
           s.n AS src_n,
           t.n AS tgt_n,
           s.n = 1 AND t.n = 1 AS comparable,
           abs(CAST(s.amount AS DOUBLE) - CAST(t.amount AS DOUBLE)) > 0.01 OR s.currency <> t.currency
             OR s.status <> t.status OR s.booked_at <> t.booked_at AS differs
    FROM src AS s
    FULL JOIN tgt AS t USING (txn_id)
), counts AS (
    SELECT sum(src_n) AS source_rows,
           sum(tgt_n) AS target_rows,
           coalesce(sum(src_n) FILTER (WHERE unkeyed), 0)
             + coalesce(sum(tgt_n) FILTER (WHERE unkeyed), 0) AS unkeyed_rows,
           count(*) FILTER (WHERE NOT unkeyed AND tgt_n IS NULL) AS missing_in_target,
           count(*) FILTER (WHERE NOT unkeyed AND src_n IS NULL) AS orphans_in_target,
           count(*) FILTER (WHERE NOT unkeyed AND src_n > 1)
             + count(*) FILTER (WHERE NOT unkeyed AND tgt_n > 1) AS duplicate_keys,
           count(*) FILTER (WHERE NOT unkeyed AND comparable AND differs) AS mismatched_keys,
           count(*) FILTER (WHERE NOT unkeyed AND comparable AND NOT differs) AS reconciled_keys,
           count(src_n) FILTER (WHERE NOT unkeyed) AS source_keys
    FROM keys
)
SELECT CAST(source_rows AS BIGINT) AS source_rows,
       CAST(target_rows AS BIGINT) AS target_rows,
       CAST(unkeyed_rows AS BIGINT) AS unkeyed_rows,
       missing_in_target,
       orphans_in_target,
       duplicate_keys,
       mismatched_keys,
       reconciled_keys,
       CAST(round(100.0 * reconciled_keys / source_keys, 2) AS DECIMAL(5, 2)) AS reconciled_pct
FROM counts
