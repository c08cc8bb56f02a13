-- One row of counts over the matched transactions.
WITH pairs AS (
    SELECT trim(s.txn_id) AS txn_id,
           abs(s.amount - t.amount) > 0.01 OR upper(trim(s.currency)) <> upper(trim(t.currency))
             OR upper(trim(s.status)) <> upper(trim(t.status))
             OR CAST(s.booked_at AS TIMESTAMPTZ) <> CAST(t.booked_at AS TIMESTAMPTZ) AS differs
    FROM source_txn AS s
    JOIN target_txn AS t ON trim(t.txn_id) = trim(s.txn_id)
    WHERE trim(s.txn_id) <> ''
), dup AS (
    SELECT trim(txn_id) AS txn_id FROM source_txn WHERE trim(txn_id) <> '' GROUP BY 1 HAVING count(*) > 1
    UNION ALL
    SELECT trim(txn_id) FROM target_txn WHERE trim(txn_id) <> '' GROUP BY 1 HAVING count(*) > 1
)
SELECT (SELECT count(*) FROM source_txn) AS source_rows,
       (SELECT count(*) FROM target_txn) AS target_rows,
       (SELECT count(*) FROM source_txn WHERE coalesce(trim(txn_id), '') = '')
         + (SELECT count(*) FROM target_txn WHERE coalesce(trim(txn_id), '') = '') AS unkeyed_rows,
       (SELECT count(*) FROM source_txn AS s LEFT JOIN target_txn AS t ON trim(t.txn_id) = trim(s.txn_id)
         WHERE trim(s.txn_id) <> '' AND t.txn_id IS NULL) AS missing_in_target,
       (SELECT count(*) FROM target_txn AS t LEFT JOIN source_txn AS s ON trim(s.txn_id) = trim(t.txn_id)
         WHERE trim(t.txn_id) <> '' AND s.txn_id IS NULL) AS orphans_in_target,
       (SELECT count(*) FROM dup) AS duplicate_keys,
       (SELECT count(DISTINCT txn_id) FROM pairs WHERE differs) AS mismatched_keys,
       (SELECT count(*) FROM pairs WHERE NOT differs) AS reconciled_keys,
       CAST(round(100.0 * (SELECT count(*) FROM pairs WHERE NOT differs)
                  / (SELECT count(DISTINCT trim(txn_id)) FROM source_txn WHERE trim(txn_id) <> ''), 2)
            AS DECIMAL(5, 2)) AS reconciled_pct
