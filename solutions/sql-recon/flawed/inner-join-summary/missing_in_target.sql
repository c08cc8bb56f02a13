-- Every ERP key that never reached the data platform, listed once.
-- EXCEPT compares whole values and treats NULLs as equal, so the NULL keys in
-- target_txn cannot hide anything (NOT IN would return no rows at all).
SELECT trim(txn_id) AS txn_id
FROM source_txn
WHERE trim(txn_id) <> ''          -- also drops NULL keys: NULL <> '' is not true
EXCEPT
SELECT trim(txn_id)
FROM target_txn
