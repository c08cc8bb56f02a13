-- Every platform key with no ERP row behind it, listed once.
SELECT trim(txn_id) AS txn_id
FROM target_txn
WHERE trim(txn_id) <> ''
EXCEPT
SELECT trim(txn_id)
FROM source_txn
