-- Keys that occur more than once on a side, after trimming. Unkeyed rows
-- (NULL or blank) are not a key, so they never form a duplicate group.
SELECT 'source' AS side, trim(txn_id) AS txn_id, count(*) AS row_count
FROM source_txn
WHERE trim(txn_id) <> ''
GROUP BY trim(txn_id)
HAVING count(*) > 1
UNION ALL
SELECT 'target' AS side, trim(txn_id) AS txn_id, count(*) AS row_count
FROM target_txn
WHERE trim(txn_id) <> ''
GROUP BY trim(txn_id)
HAVING count(*) > 1
