-- Source keys that never reached the platform.
SELECT DISTINCT trim(txn_id) AS txn_id
FROM source_txn
WHERE trim(txn_id) <> ''
  AND trim(txn_id) NOT IN (SELECT trim(txn_id) FROM target_txn)
