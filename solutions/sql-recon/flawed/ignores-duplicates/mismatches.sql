-- One row per differing field of each matched transaction.
WITH pairs AS (
    SELECT trim(s.txn_id) AS txn_id,
           abs(s.amount - t.amount) > 0.01 AS amount_differs,
           upper(trim(s.currency)) <> upper(trim(t.currency)) AS currency_differs,
           upper(trim(s.status)) <> upper(trim(t.status)) AS status_differs,
           CAST(s.booked_at AS TIMESTAMPTZ) <> CAST(t.booked_at AS TIMESTAMPTZ) AS booked_at_differs
    FROM source_txn AS s
    JOIN target_txn AS t ON trim(t.txn_id) = trim(s.txn_id)
    WHERE trim(s.txn_id) <> ''
)
SELECT txn_id, 'amount' AS field FROM pairs WHERE amount_differs
UNION ALL
SELECT txn_id, 'currency' AS field FROM pairs WHERE currency_differs
UNION ALL
SELECT txn_id, 'status' AS field FROM pairs WHERE status_differs
UNION ALL
SELECT txn_id, 'booked_at' AS field FROM pairs WHERE booked_at_differs
