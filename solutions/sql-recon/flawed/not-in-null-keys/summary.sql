-- One row of counts, each from its own subquery.
WITH src AS (
    SELECT trim(txn_id) AS txn_id, count(*) AS n, any_value(amount) AS amount,
           any_value(upper(trim(currency))) AS currency, any_value(upper(trim(status))) AS status,
           any_value(CAST(booked_at AS TIMESTAMPTZ)) AS booked_at
    FROM source_txn WHERE trim(txn_id) <> '' GROUP BY trim(txn_id)
), tgt AS (
    SELECT trim(txn_id) AS txn_id, count(*) AS n, any_value(amount) AS amount,
           any_value(upper(trim(currency))) AS currency, any_value(upper(trim(status))) AS status,
           any_value(CAST(booked_at AS TIMESTAMPTZ)) AS booked_at
    FROM target_txn WHERE trim(txn_id) <> '' GROUP BY trim(txn_id)
), compared AS (
    SELECT abs(s.amount - t.amount) > 0.01 OR s.currency <> t.currency
             OR s.status <> t.status OR s.booked_at <> t.booked_at AS differs
    FROM src AS s JOIN tgt AS t USING (txn_id)
    WHERE s.n = 1 AND t.n = 1
)
SELECT (SELECT count(*) FROM source_txn) AS source_rows,
       (SELECT count(*) FROM target_txn) AS target_rows,
       (SELECT count(*) FROM source_txn WHERE coalesce(trim(txn_id), '') = '')
         + (SELECT count(*) FROM target_txn WHERE coalesce(trim(txn_id), '') = '') AS unkeyed_rows,
       (SELECT count(*) FROM src WHERE txn_id NOT IN (SELECT trim(txn_id) FROM target_txn)) AS missing_in_target,
       (SELECT count(*) FROM tgt WHERE txn_id NOT IN (SELECT trim(txn_id) FROM source_txn)) AS orphans_in_target,
       (SELECT count(*) FROM src WHERE n > 1) + (SELECT count(*) FROM tgt WHERE n > 1) AS duplicate_keys,
       (SELECT count(*) FROM compared WHERE differs) AS mismatched_keys,
       (SELECT count(*) FROM compared WHERE NOT differs) AS reconciled_keys,
       CAST(round(100.0 * (SELECT count(*) FROM compared WHERE NOT differs) / (SELECT count(*) FROM src), 2)
            AS DECIMAL(5, 2)) AS reconciled_pct
