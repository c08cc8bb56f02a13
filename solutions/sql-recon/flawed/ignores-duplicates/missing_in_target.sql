-- ERP transactions that never reached the platform.
SELECT trim(s.txn_id) AS txn_id
FROM source_txn AS s
LEFT JOIN target_txn AS t ON trim(t.txn_id) = trim(s.txn_id)
WHERE trim(s.txn_id) <> ''
  AND t.txn_id IS NULL
