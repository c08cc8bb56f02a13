-- One row per differing field, for keys present exactly once on each side.
-- Duplicated keys are not compared: nobody can say which copy pairs with which.
WITH src AS (
    SELECT trim(txn_id) AS txn_id,
           any_value(amount) AS amount,
           any_value(upper(trim(currency))) AS currency,
           any_value(upper(trim(status))) AS status,
           any_value(CAST(booked_at AS TIMESTAMPTZ)) AS booked_at   -- the offset makes it an instant
    FROM source_txn
    WHERE trim(txn_id) <> ''
    GROUP BY trim(txn_id)
    HAVING count(*) = 1
), tgt AS (
    SELECT trim(txn_id) AS txn_id,
           any_value(amount) AS amount,
           any_value(upper(trim(currency))) AS currency,
           any_value(upper(trim(status))) AS status,
           any_value(CAST(booked_at AS TIMESTAMPTZ)) AS booked_at
    FROM target_txn
    WHERE trim(txn_id) <> ''
    GROUP BY trim(txn_id)
    HAVING count(*) = 1
), pairs AS (
    SELECT s.txn_id,
           abs(s.amount - t.amount) > 0.01 AS amount_differs,   -- DECIMAL arithmetic: exact
           s.currency <> t.currency AS currency_differs,
           s.status <> t.status AS status_differs,
           s.booked_at <> t.booked_at AS booked_at_differs
    FROM src AS s
    JOIN tgt AS t USING (txn_id)
)
SELECT txn_id, 'amount' AS field FROM pairs WHERE amount_differs
UNION ALL
SELECT txn_id, 'currency' AS field FROM pairs WHERE currency_differs
UNION ALL
SELECT txn_id, 'status' AS field FROM pairs WHERE status_differs
UNION ALL
SELECT txn_id, 'booked_at' AS field FROM pairs WHERE booked_at_differs
