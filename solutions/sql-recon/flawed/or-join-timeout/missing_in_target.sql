-- ERP transactions that never reached the platform. The platform pads some
-- keys, so a row matches on the exact key or on the trimmed key.
SELECT DISTINCT trim(s.txn_id) AS txn_id
FROM source_txn AS s
LEFT JOIN target_txn AS t
       ON t.txn_id = s.txn_id OR trim(t.txn_id) = trim(s.txn_id)
WHERE trim(s.txn_id) <> ''
  AND t.txn_id IS NULL
